/**
 * The `inbox` source's configuration, declared once: the inbox folder and
 * the folders a file moves through, how long a file must be still before
 * it is taken, how often the folder is looked at, and the read options of
 * the `file` source (declared in file.config.ts). The JSON Schema, the
 * type and the defaults derive from it.
 */
import { Type, type Static } from 'typebox';
import { DURATION_PATTERN } from '../../lib/duration.js';
import { closed, defaultsOf, withDefault } from '../config.schema.js';
import { fileReadSchemaProperties } from './file.config.js';

const folder = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));
const duration = (description: string) => Type.String({ pattern: DURATION_PATTERN, description });

/** JSON Schema (draft-07) of {@link InboxSourceConfig}. */
export const inboxSourceConfigSchema = closed({
  path: Type.String({ minLength: 1, description: 'The inbox folder senders drop files into. Relative to the pipeline file.' }),
  ...fileReadSchemaProperties,
  processing: folder('Folder of claimed files being read; default <path>/.processing. Must be on the same file system as path.'),
  done: folder('Folder of the sealed (encrypted) copies of read files, <name>.sealed (with <name>.errors.json beside a file that had bad records); default <path>/done.'),
  quarantine: folder('Folder of the sealed (encrypted) copies of files that could not be read at all, <name>.sealed (with <name>.error.json beside each); default <path>/quarantine.'),
  settle: withDefault(duration('A file is taken once its size and modification time have not changed for this long; default 2s.'), '2s'),
  pollInterval: withDefault(duration('How often rekey serve looks for new files; default 10s.'), '10s'),
  staleClaim: withDefault(duration('Files claimed by a runner on another host whose claim is untouched this long are taken over; default 15m.'), '15m'),
});

/** `source.config` of kind `inbox`. Relative paths are relative to the pipeline file. */
export type InboxSourceConfig = Static<typeof inboxSourceConfigSchema>;

/**
 * Defaults of {@link InboxSourceConfig}: the schema's, and the folders'
 * (inside `path`, which a schema default, read relative to the pipeline
 * file, could not say).
 */
export const INBOX_DEFAULTS = { ...defaultsOf(inboxSourceConfigSchema), processing: '.processing', done: 'done', quarantine: 'quarantine' } as const;
