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

function labelled(kind: 'resource' | 'data', doc: JsonObject, shapes: ProviderShapes): string[][] {
  const out: string[][] = [];
  for (const [type, byName] of Object.entries(doc)) {
    const known = kind === 'resource' ? shapes.resource[type] : shapes.data[type];
    // terraform_data and other built-ins have no nested blocks.
    const shape = { ...(known ?? {}), ...META_BLOCKS };
    if (!known && !type.startsWith('terraform_'))
      throw new HclRenderError(`${kind} type ${type} is not in the provider schema`);
    for (const [name, item] of Object.entries(byName as JsonObject)) {
      for (const instance of [item].flat() as JsonObject[])
        out.push(block(kind, [type, name], instance, shape, '', 'resource'));
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

/** Renders a Terraform JSON document (one cdk.tf.json) as HCL; blocks separated by blank lines. */
export function renderHcl(doc: JsonObject, shapes: ProviderShapes): string {
  const sections: string[][] = [];
  for (const [top, value] of Object.entries(doc)) {
    if (top === '//') continue;
    if (!isObject(value)) throw new HclRenderError(`top-level ${top} must be an object`);
    switch (top) {
      case 'terraform':
        sections.push(terraformBlock(value));
        break;
      case 'provider':
        for (const [name, configs] of Object.entries(value)) {
          for (const config of [configs].flat() as JsonObject[])
            sections.push(block('provider', [name], config, name === 'aws' ? shapes.provider : {}, ''));
        }
        break;
      case 'resource':
      case 'data':
        sections.push(...labelled(top, value, shapes));
        break;
      case 'output':
      case 'variable':
        for (const [name, config] of Object.entries(value)) {
          const { type, ...rest } = config as JsonObject;
          const lines = block(top, [name], rest, { validation: {} }, '', 'resource');
          // A variable's type is a type expression, written bare.
          if (type !== undefined) lines.splice(1, 0, `${INDENT}type = ${String(type).replace(/^\$\{(.*)\}$/, '$1')}`);
          sections.push(lines);
        }
        break;
      case 'locals':
        sections.push(block('locals', [], value, {}, ''));
        break;
      default:
        throw new HclRenderError(`top-level ${top} is not supported by the HCL renderer`);
    }
  }
  return `${sections.map((s) => s.join('\n')).join('\n\n')}\n`;
}
