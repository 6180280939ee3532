/**
 * How a connector declares its settings once: each setting is a typebox
 * schema (type, limits, description and default together); the JSON Schema
 * the registry publishes, the TypeScript type (`Static`) and the defaults
 * ({@link defaultsOf}) all derive from that one declaration.
 */
import { Type, type Static, type TObject, type TOptional, type TProperties, type TSchema, type TUnsafe } from 'typebox';

/** A setting that has a default: optional in a config, and its schema carries the value as `default`. */
export type TDefault<T extends TSchema> = TOptional<T> & { readonly default: Static<T> };

/**
 * Declares `schema`'s setting optional with `value` as its default (the
 * JSON Schema's `default`, and what {@link defaultsOf} hands out).
 */
export function withDefault<T extends TSchema>(schema: T, value: Static<T>): TDefault<T> {
  const optional = Type.Optional(schema) as unknown as { default?: unknown };
  optional.default = value;
  return optional as TDefault<T>;
}

type DefaultKeys<P extends TProperties> = { [K in keyof P]: P[K] extends { readonly default: unknown } ? K : never }[keyof P];

/** The defaults of an object schema's properties, by name. */
export type DefaultsOf<S> = S extends TObject<infer P> ? { readonly [K in DefaultKeys<P>]: P[K] extends { readonly default: infer V } ? V : never } : never;

/** The default of every property of `schema` declared with {@link withDefault}, by name. */
export function defaultsOf<S extends TObject>(schema: S): DefaultsOf<S> {
  const out: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(schema.properties as Record<string, { default?: unknown }>)) {
    if (prop.default !== undefined) out[name] = prop.default;
  }
  return Object.freeze(out) as DefaultsOf<S>;
}

/**
 * Exactly one of `schemas` (JSON Schema `oneOf`, where typebox's union
 * writes `anyOf`): the messages `rekey validate` prints stay those of
 * `oneOf`. Its type is the union of theirs.
 */
export function oneOf<T extends TSchema[]>(schemas: [...T], options: Record<string, unknown> = {}): TUnsafe<Static<T[number]>> {
  return Type.Unsafe<Static<T[number]>>({ ...options, oneOf: schemas });
}

/** An object schema that takes no other keys than `properties` (draft-07 `additionalProperties: false`). */
export function closed<P extends TProperties>(properties: P, options: Record<string, unknown> = {}): TObject<P> {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

/** `schema` as the plain JSON Schema data that `ConnectorDef.configSchema` holds (it is one already; only its static type changes). */
export function jsonSchema(schema: TSchema): Record<string, unknown> {
  return schema as Record<string, unknown>;
}

/** An object whose keys are free (names chosen by the user) and whose values all take `value` (draft-07 `additionalProperties`). */
export function mapOf<V extends TSchema>(value: V, options: Record<string, unknown> = {}): TUnsafe<Record<string, Static<V>>> {
  return Type.Unsafe<Record<string, Static<V>>>({ type: 'object', ...options, additionalProperties: value });
}

/** Exactly the value `value` (draft-07 `const`, without the `type` typebox's literal adds). */
export function constant<const V extends string | number | boolean>(value: V): TUnsafe<V> {
  return Type.Unsafe<V>({ const: value });
}

/** One of `values` (draft-07 `enum` as given); its type is the union of them. */
export function oneOfValues<const V extends string | number | boolean>(values: readonly V[], options: Record<string, unknown> = {}): TUnsafe<V> {
  return Type.Unsafe<V>({ enum: values, ...options });
}
