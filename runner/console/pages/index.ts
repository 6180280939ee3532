/** The console's page modules, in navigation order; `rekey serve` registers each (see runner/console/console.ts). */
import type { ConsolePages } from '../console.js';
import { pipelinePages } from './pipelines.pages.js';
import { submissionsPages } from './submissions.pages.js';
import { deadLetterPages } from './dead-letters.pages.js';
import { auditPages } from './audit.pages.js';
import { stepsPages } from './steps.pages.js';

/** Every page module of the console. */
export const CONSOLE_PAGES: readonly ConsolePages[] = [pipelinePages, submissionsPages, deadLetterPages, auditPages, stepsPages];
