/**
 * The JSON Schema of mapping files. One definition serves the loader's
 * validation and the published `mapping.schema.json` that editors use; the
 * transform step definitions come from the transform declarations, so a new
 * transform needs no edit here.
 */
import type { TransformDef } from './transforms/transform.types.js';

type Json = Record<string, unknown>;

const NAME = '^[A-Za-z_][A-Za-z0-9_]*$';

const operand = {
  path: { type: 'string', description: 'Path into the submission (or $item... inside a group).' },
  field: { type: 'string', description: 'A target field mapped earlier.' },
  answer: { type: 'string', description: 'GOV.UK Forms answer by question_id, optionally .part.' },
};

const compareTo = {
  oneOf: [{ type: 'number' }, { type: 'string' }, { type: 'object', properties: { field: { type: 'string' } }, required: ['field'], additionalProperties: false }],
};

const condition: Json = {
  type: 'object',
  description: 'A condition: one operand (path, field or answer) and one operator, or all/any/not.',
  additionalProperties: false,
  properties: {
    all: { type: 'array', items: { $ref: '#/definitions/condition' }, minItems: 1 },
    any: { type: 'array', items: { $ref: '#/definitions/condition' }, minItems: 1 },
    not: { $ref: '#/definitions/condition' },
    ...operand,
    exists: { type: 'boolean' },
    equals: { description: 'Equal to this value.' },
    notEquals: { description: 'Not equal to this value.' },
    in: { type: 'array', description: 'One of these values.' },
    matches: { type: 'string', description: 'Regular expression the value matches.' },
    gt: compareTo,
    gte: compareTo,
    lt: compareTo,
    lte: compareTo,
  },
};

const validation: Json = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pattern: { type: 'string', description: 'Regular expression the whole value must match (anchor it yourself).' },
    length: {
      oneOf: [
        { type: 'integer', minimum: 0 },
        { type: 'object', additionalProperties: false, properties: { min: { type: 'integer', minimum: 0 }, max: { type: 'integer', minimum: 0 } } },
      ],
    },
    enum: { type: 'array', minItems: 1 },
    range: {
      type: 'object',
      additionalProperties: false,
      properties: { min: { type: ['number', 'string'] }, max: { type: ['number', 'string'] } },
    },
    message: { type: 'string', description: 'Message used instead of the default when a check fails.' },
  },
};

const field: Json = {
  type: 'object',
  additionalProperties: false,
  description: 'One target field: where its value comes from, transforms, validation.',
  properties: {
    from: { type: 'string', description: 'Path into the submission, e.g. answers[question_id=dob].answer_text.' },
    answer: { type: 'string', description: 'GOV.UK Forms answer by question_id; question_id.part for a part.' },
    const: { description: 'A constant value.' },
    template: { type: 'string', description: 'Text with {{path}} placeholders.' },
    function: { type: 'string', description: 'Name of a whole-field function exported by the functions module.' },
    transform: { type: 'array', items: { $ref: '#/definitions/transformStep' } },
    default: { description: 'Value used when the source is absent or the when condition is false.' },
    required: { type: 'boolean' },
    when: { $ref: '#/definitions/condition' },
    pii: { type: 'boolean', description: 'Personal data: never shown in logs, errors or audit entries.' },
    validate: { $ref: '#/definitions/validation' },
    description: { type: 'string' },
  },
};

const lookup: Json = {
  type: 'object',
  additionalProperties: false,
  properties: {
    values: { type: 'object', description: 'Inline code list: source value -> legacy code.' },
    file: { type: 'string', description: 'CSV file with a header row, relative to the mapping.' },
    keyColumn: { type: 'string' },
    valueColumn: { type: 'string' },
    missing: { enum: ['error', 'default', 'null', 'keep'], description: 'What a value not in the list becomes.' },
    default: { description: 'Used when missing is default.' },
    caseInsensitive: { type: 'boolean' },
  },
};

const group: Json = {
  type: 'object',
  additionalProperties: false,
  required: ['each', 'fields'],
  properties: {
    each: {
      oneOf: [
        { type: 'string' },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            answer: { type: 'string', description: 'question_id of a repeating GOV.UK Forms answer (instead of path).' },
            path: { type: 'string', description: 'Path of the list (instead of answer).' },
            values: { type: 'boolean', description: 'The list is the values of the object at path, in its key order.' },
            then: { type: 'string', description: "Each item's own list at this path, read from the item: the lists are flattened in order, and $outer reads the item each came from." },
            where: { $ref: '#/definitions/condition', description: 'Only the items for which this holds ($item, $outer).' },
          },
        },
      ],
      description: 'Path of an array; { answer: question_id } of a repeating GOV.UK Forms answer; or { path | answer, values, then, where } to take an object\'s values, flatten lists of lists, and keep only some items.',
    },
    min: { type: 'integer', minimum: 0 },
    max: { type: 'integer', minimum: 0 },
    fields: { type: 'object', propertyNames: { pattern: NAME }, additionalProperties: { $ref: '#/definitions/field' }, minProperties: 1 },
  },
};

const rule: Json = {
  type: 'object',
  additionalProperties: false,
  required: ['rule', 'assert', 'message'],
  properties: {
    rule: { type: 'string', description: 'Name of the rule, reported when it fails.' },
    when: { $ref: '#/definitions/condition' },
    assert: { $ref: '#/definitions/condition' },
    message: { type: 'string' },
    fields: { type: 'array', items: { type: 'string' } },
  },
};

/** The schema of one transform step: a bare name for argument-less transforms, else `{name: args}`. */
function transformStep(transforms: Iterable<TransformDef>): Json {
  const bare: string[] = [];
  const withArgs: Json[] = [];
  for (const t of transforms) {
    if (t.args === undefined || t.argsOptional) bare.push(t.name);
    if (t.args !== undefined) {
      withArgs.push({
        type: 'object',
        description: t.doc,
        additionalProperties: false,
        required: [t.name],
        properties: { [t.name]: t.args },
      });
    }
  }
  return { oneOf: [{ enum: bare, description: 'A transform without arguments.' }, ...withArgs] };
}

/** Builds the mapping schema (JSON Schema draft-07) for the given transforms. */
export function buildMappingSchema(transforms: Iterable<TransformDef>): Json {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://rekey.dev/schemas/mapping.schema.json',
    title: 'rekey mapping',
    description: 'How form submissions become records of a legacy system. See docs/mapping-language.md.',
    type: 'object',
    additionalProperties: false,
    required: ['mapping', 'fields'],
    properties: {
      mapping: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.\\-]*$', description: 'Name of the mapping.' },
      description: { type: 'string' },
      key: { type: 'string', description: 'Template of the submission key.' },
      functions: { type: 'string', description: 'Module (relative path) exporting user functions.' },
      tests: { type: 'string', description: 'Golden cases file (relative path).' },
      questions: {
        type: 'object',
        description: 'question_id -> question texts it has had, for exports that carry texts only.',
        additionalProperties: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] },
      },
      lookups: { type: 'object', propertyNames: { pattern: NAME }, additionalProperties: { $ref: '#/definitions/lookup' } },
      fields: { type: 'object', propertyNames: { pattern: NAME }, additionalProperties: { $ref: '#/definitions/field' }, minProperties: 1 },
      groups: { type: 'object', propertyNames: { pattern: NAME }, additionalProperties: { $ref: '#/definitions/group' } },
      rules: { type: 'array', items: { $ref: '#/definitions/rule' } },
    },
    definitions: {
      field,
      condition,
      validation,
      lookup,
      group,
      rule,
      transformStep: transformStep(transforms),
    },
  };
}
