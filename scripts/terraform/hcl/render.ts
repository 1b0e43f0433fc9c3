// Terraform JSON (what cdktf synthesizes) -> native HCL, driven by the provider schema so nested
// blocks are written as blocks. We render from the JSON ourselves instead of trusting
// `cdktf synth --hcl`, whose renderer breaks WAFv2 statements and tokens inside serialized objects
// (README, "HCL output"); the result is checked by planning both and comparing.
import { bareReference, stringExpression } from './template';
import type { BlockShape, ProviderShapes } from './schema';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const INDENT = '  ';

/** Meta-arguments of resource and data blocks (not in the provider schema). */
const META_BLOCKS: BlockShape = { lifecycle: { precondition: {}, postcondition: {} } };
const REFERENCE_LISTS = new Set(['depends_on']);
const LIFECYCLE_REFERENCE_LISTS = new Set(['ignore_changes', 'replace_triggered_by']);

export class HclRenderError extends Error {}

function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function key(name: string): string {
  return IDENT.test(name) ? name : JSON.stringify(name);
}

/** An attribute value as an HCL expression. */
export function expression(value: Json, indent: string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean' || typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'string') return stringExpression(value, indent);
  const inner = indent + INDENT;
  if (Array.isArray(value)) {
    if (!value.length) return '[]';
    const items = value.map((v) => expression(v, inner));
    const oneLine = `[${items.join(', ')}]`;
    if (oneLine.length <= 100 && !oneLine.includes('\n')) return oneLine;
    return `[\n${items.map((i) => `${inner}${i},`).join('\n')}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (!entries.length) return '{}';
  // Object keys are always quoted: a quoted key is the same template in both syntaxes.
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)} = ${expression(v, inner)}`).join('\n')}\n${indent}}`;
}

function references(value: Json, what: string): string {
  if (!Array.isArray(value)) throw new HclRenderError(`${what} must be a list`);
  return `[${value.map((v) => (typeof v === 'string' ? bareReference(v) : expression(v, ''))).join(', ')}]`;
}

/** The lines of a block body: arguments first (in document order), then nested blocks. */
function body(
  obj: JsonObject,
  shape: BlockShape,
  indent: string,
  context: 'resource' | 'lifecycle' | 'plain' = 'plain',
): string[] {
  const lines: string[] = [];
  const blocks: string[] = [];
  for (const [name, value] of Object.entries(obj)) {
    if (name === '//') continue; // cdktf metadata comment
    if (name === 'dynamic' && isObject(value)) {
      for (const [type, spec] of Object.entries(value))
        blocks.push(...dynamicBlock(type, spec, shape[type] ?? {}, indent));
      continue;
    }
    if (name in shape) {
      for (const item of [value].flat()) {
        if (item === null) continue;
        if (!isObject(item))
          throw new HclRenderError(`block ${name} must be an object, got ${JSON.stringify(item).slice(0, 80)}`);
        blocks.push(...block(name, [], item, shape[name], indent, name === 'lifecycle' ? 'lifecycle' : 'plain'));
      }
      continue;
    }
    if (!IDENT.test(name)) throw new HclRenderError(`argument name ${JSON.stringify(name)} is not an identifier`);
    let text: string;
    if (context === 'resource' && name === 'provider') text = bareReference(String(value));
    else if (context === 'resource' && REFERENCE_LISTS.has(name)) text = references(value, name);
    else if (context === 'lifecycle' && LIFECYCLE_REFERENCE_LISTS.has(name))
      text = value === 'all' ? 'all' : references(value, name);
    else text = expression(value, indent);
    lines.push(`${indent}${name} = ${text}`);
  }
  return [...lines, ...blocks];
}

function dynamicBlock(type: string, spec: Json, shape: BlockShape, indent: string): string[] {
  if (!isObject(spec) || !isObject(spec.content ?? null))
    throw new HclRenderError(`dynamic ${type} needs a content object`);
  const { content, ...args } = spec;
  const inner = indent + INDENT;
  return [
    `${indent}dynamic ${JSON.stringify(type)} {`,
    ...Object.entries(args).map(
      ([k, v]) => `${inner}${k} = ${k === 'iterator' ? bareReference(String(v)) : expression(v, inner)}`,
    ),
    ...block('content', [], content as JsonObject, shape, inner),
    `${indent}}`,
  ];
}

function block(
  type: string,
  labels: string[],
  obj: JsonObject,
  shape: BlockShape,
  indent: string,
  context: 'resource' | 'lifecycle' | 'plain' = 'plain',
): string[] {
  const head = [type, ...labels.map((l) => JSON.stringify(l))].join(' ');
  const inner = body(obj, shape, indent + INDENT, context);
  return inner.length ? [`${indent}${head} {`, ...inner, `${indent}}`] : [`${indent}${head} {}`];
}

type LabelledKind = 'resource' | 'data' | 'ephemeral';

/** A rendered top-level block and the construct path it came from (cdktf's `//` metadata), when known. */
interface Section {
  top: string;
  lines: string[];
  path?: string;
  /** How other blocks refer to this one (`aws_x.name`, `data.aws_x.name`, `ephemeral.aws_x.name`). */
  address?: string;
}

function constructPath(instance: JsonObject): string | undefined {
  const comment = instance['//'];
  const metadata = isObject(comment ?? null) ? (comment as JsonObject).metadata : undefined;
  const path = isObject(metadata ?? null) ? (metadata as JsonObject).path : undefined;
  return typeof path === 'string' ? path : undefined;
}

function labelled(kind: LabelledKind, doc: JsonObject, shapes: ProviderShapes): Section[] {
  const out: Section[] = [];
  const schemas = kind === 'resource' ? shapes.resource : kind === 'data' ? shapes.data : shapes.ephemeral;
  for (const [type, byName] of Object.entries(doc)) {
    const known = schemas[type];
    // terraform_data and other built-ins have no nested blocks.
    const shape = { ...(known ?? {}), ...META_BLOCKS };
    if (!known && !type.startsWith('terraform_'))
      throw new HclRenderError(`${kind} type ${type} is not in the provider schema`);
    for (const [name, item] of Object.entries(byName as JsonObject)) {
      for (const instance of [item].flat() as JsonObject[])
        out.push({
          top: kind,
          lines: block(kind, [type, name], instance, shape, '', 'resource'),
          path: constructPath(instance),
          address: kind === 'resource' ? `${type}.${name}` : `${kind}.${type}.${name}`,
        });
    }
  }
  return out;
}

function terraformBlock(settings: JsonObject): string[] {
  const lines = ['terraform {'];
  for (const [name, value] of Object.entries(settings)) {
    if (name === 'backend' && isObject(value)) {
      for (const [kind, config] of Object.entries(value))
        lines.push(...block('backend', [kind], config as JsonObject, {}, INDENT));
    } else if (name === 'required_providers' && isObject(value)) {
      lines.push(`${INDENT}required_providers {`);
      for (const [provider, req] of Object.entries(value))
        lines.push(`${INDENT}${INDENT}${key(provider)} = ${expression(req, INDENT + INDENT)}`);
      lines.push(`${INDENT}}`);
    } else {
      lines.push(`${INDENT}${name} = ${expression(value, INDENT)}`);
    }
  }
  lines.push('}');
  return lines;
}

function sections(doc: JsonObject, shapes: ProviderShapes): Section[] {
  const out: Section[] = [];
  for (const [top, value] of Object.entries(doc)) {
    if (top === '//') continue;
    if (!isObject(value)) throw new HclRenderError(`top-level ${top} must be an object`);
    switch (top) {
      case 'terraform':
        out.push({ top, lines: terraformBlock(value) });
        break;
      case 'provider':
        for (const [name, configs] of Object.entries(value)) {
          for (const config of [configs].flat() as JsonObject[])
            out.push({ top, lines: block('provider', [name], config, name === 'aws' ? shapes.provider : {}, '') });
        }
        break;
      case 'resource':
      case 'data':
      case 'ephemeral':
        out.push(...labelled(top, value, shapes));
        break;
      case 'output':
      case 'variable':
        for (const [name, config] of Object.entries(value)) {
          const { type, ...rest } = config as JsonObject;
          const lines = block(top, [name], rest, { validation: {} }, '', 'resource');
          // A variable's type is a type expression, written bare.
          if (type !== undefined) lines.splice(1, 0, `${INDENT}type = ${String(type).replace(/^\$\{(.*)\}$/, '$1')}`);
          out.push({ top, lines });
        }
        break;
      case 'locals':
        out.push({ top, lines: block('locals', [], value, {}, '') });
        break;
      default:
        throw new HclRenderError(`top-level ${top} is not supported by the HCL renderer`);
    }
  }
  return out;
}

function joined(parts: Section[]): string {
  return `${parts.map((s) => s.lines.join('\n')).join('\n\n')}\n`;
}

/** Renders a Terraform JSON document (one cdk.tf.json) as HCL in one text; blocks separated by blank lines. */
export function renderHcl(doc: JsonObject, shapes: ProviderShapes): string {
  return joined(sections(doc, shapes));
}

/** Files for what belongs to the stack rather than to one construct. */
const STACK_FILES: Record<string, string> = {
  terraform: 'terraform.tf',
  provider: 'providers.tf',
  output: 'outputs.tf',
  variable: 'variables.tf',
  locals: 'locals.tf',
};
/** Blocks with no construct path (written by an escape hatch on the stack itself) that no one file uses. */
export const UNPLACED_FILE = 'main.tf';

/** `network.tf` for `<stack>/network/...`: the top-level construct id, lowercased, other characters as `-`. */
export function fileForPath(path: string): string {
  const top = path.split('/')[1] ?? '';
  const name = top
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return name ? `${name}.tf` : UNPLACED_FILE;
}

/**
 * A block without a construct path (an ephemeral password added by an override, say) goes beside the
 * blocks that use it when they all live in one file; otherwise in main.tf.
 */
function fileOfUsers(section: Section, placed: Map<Section, string>): string {
  if (!section.address) return UNPLACED_FILE;
  const escaped = section.address.replace(/[.]/g, '\\.');
  const use = new RegExp(`(^|[^\\w.])${escaped}\\b`);
  const files = new Set(
    [...placed.entries()].filter(([other]) => other.lines.some((l) => use.test(l))).map(([, file]) => file),
  );
  files.delete(STACK_FILES.output);
  return files.size === 1 ? ([...files][0] as string) : UNPLACED_FILE;
}

/**
 * Renders a Terraform JSON document as one HCL file per top-level construct (`network.tf`, `database.tf`,
 * ...) plus the stack's own files (`terraform.tf`, `providers.tf`, `outputs.tf`), so a review reads the
 * diagram. Terraform loads every `*.tf` file of the folder as one module: the split changes no plan.
 */
export function renderHclFiles(doc: JsonObject, shapes: ProviderShapes): Record<string, string> {
  const all = sections(doc, shapes);
  const placed = new Map<Section, string>();
  for (const section of all) {
    const file = STACK_FILES[section.top] ?? (section.path !== undefined ? fileForPath(section.path) : undefined);
    if (file) placed.set(section, file);
  }
  const byFile = new Map<string, Section[]>();
  for (const section of all) {
    const file = placed.get(section) ?? fileOfUsers(section, placed);
    byFile.set(file, [...(byFile.get(file) ?? []), section]);
  }
  const files = [...byFile.keys()].sort();
  return Object.fromEntries(files.map((file) => [file, joined(byFile.get(file) as Section[])]));
}
