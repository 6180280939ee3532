/**
 * Pipeline definitions: parse a pipeline file's text into a checked
 * definition, and the pure rules that go with it (write windows, retry
 * timing, durations, cron). No I/O.
 */
export { parsePipeline, PIPELINE_DEFAULTS, type ParsedPipeline } from './pipeline.loader.js';
export { buildPipelineSchema, pipelineSchema, pipelineSchemaText, type PipelineSchemaOptions } from './pipeline.schema.js';
export { isWriteAllowed, nextWriteTime, whyClosed } from './window.js';
export { backoffDelay, shouldRetry, DEFAULT_RETRY } from './retry.js';
export { parseDuration, formatDuration } from './duration.js';
export { checkCron, type CronProblem } from './cron.js';
export { bankHolidayOn, bankHolidays, BANK_HOLIDAY_REGIONS, BANK_HOLIDAY_YEARS } from './bank-holidays.js';
export { secretSourceOf, SECRET_KEY } from './secrets.js';
export type * from './pipeline.types.js';
