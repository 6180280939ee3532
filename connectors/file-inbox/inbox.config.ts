/**
 * The `inbox` source's configuration: the inbox folder and the folders a
 * file moves through, how long a file must be still before it is taken,
 * how often the folder is looked at, and the read options of the `file`
 * source (declared once, in file.config.ts).
 */
import { DURATION_PATTERN } from '../../lib/duration.js';
import { fileReadSchemaProperties, type FileReadConfig } from './file.config.js';

/** `source.config` of kind `inbox`. Relative paths are relative to the pipeline file. */
export type InboxSourceConfig = FileReadConfig & {
  /** The inbox folder that senders drop files into. */
  path: string;
  /** Where claimed files are read from; default `<path>/.processing`. Must be on the inbox's file system. */
  processing?: string;
  /** Where read files go; default `<path>/done`. */
  done?: string;
  /** Where files that cannot be read at all go; default `<path>/quarantine`. */
  quarantine?: string;
  /** How long a file's size and modification time must stay unchanged before it is taken; default `2s`. */
  settle?: string;
  /** How often `rekey serve` looks for new files (a file-system watch wakes it sooner); default `10s`. */
  pollInterval?: string;
  /** A claim of a runner on another host untouched this long is taken over; default `15m`. */
  staleClaim?: string;
};

/** Defaults of {@link InboxSourceConfig}. */
export const INBOX_DEFAULTS = { processing: '.processing', done: 'done', quarantine: 'quarantine', settle: '2s', pollInterval: '10s', staleClaim: '15m' } as const;

const folder = (description: string) => ({ type: 'string', minLength: 1, description });
const duration = (description: string) => ({ type: 'string', pattern: DURATION_PATTERN, description });

/** JSON Schema (draft-07) of {@link InboxSourceConfig}. */
export const inboxSourceConfigSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: folder('The inbox folder senders drop files into. Relative to the pipeline file.'),
    ...fileReadSchemaProperties,
    processing: folder('Folder of claimed files being read; default <path>/.processing. Must be on the same file system as path.'),
    done: folder('Folder of read files (with <name>.errors.json beside a file that had bad records); default <path>/done.'),
    quarantine: folder('Folder of files that could not be read at all (with <name>.error.json beside each); default <path>/quarantine.'),
    settle: duration('A file is taken once its size and modification time have not changed for this long; default 2s.'),
    pollInterval: duration('How often rekey serve looks for new files; default 10s.'),
    staleClaim: duration('Files claimed by a runner on another host whose claim is untouched this long are taken over; default 15m.'),
  },
};
