// The JSON -> HCL renderer: templates, blocks vs arguments, meta-arguments. Real plans of the
// rendered stacks are compared in infra/test/hcl-plans.test.ts.
import { bareReference, parseTemplate, stringExpression } from './template';
import { renderHcl } from './render';
import { differences } from './compare';
import type { ProviderShapes } from './schema';

const SHAPES: ProviderShapes = {
  provider: { default_tags: {} },
  resource: {
    aws_wafv2_web_acl: {
      default_action: { allow: {}, block: {} },
      rule: {
        statement: { managed_rule_group_statement: { rule_action_override: { action_to_use: { count: {} } } } },
        override_action: { none: {}, count: {} },
        visibility_config: {},
      },
      visibility_config: {},
    },
    aws_s3_bucket: {},
    aws_security_group: { ingress: {} },
  },
  data: { aws_iam_policy_document: { statement: { condition: {} } } },
};

describe('templates', () => {
  it('keeps interpolations as written and escapes only the literal parts', () => {
    expect(stringExpression('a "quoted" \\ path\n')).toBe('"a \\"quoted\\" \\\\ path\\n"');
    expect(stringExpression('${replace(join("", [uuid()]), "-", "")}')).toBe('replace(join("", [uuid()]), "-", "")');
    expect(stringExpression('arn:${aws_s3_bucket.b.arn}/*')).toBe('"arn:${aws_s3_bucket.b.arn}/*"');
    expect(stringExpression('{"Resource":"${aws_s3_bucket.b.arn}/*"}')).toBe(
      '"{\\"Resource\\":\\"${aws_s3_bucket.b.arn}/*\\"}"',
    );
  });

  it('leaves escaped sequences escaped and finds the end of nested templates', () => {
    expect(parseTemplate('$${literal} and ${a["k}"]}')).toEqual([
      { kind: 'literal', text: '$${literal} and ' },
      { kind: 'interpolation', text: '${a["k}"]}' },
    ]);
    expect(parseTemplate('${f("${x}")}!')).toEqual([
      { kind: 'interpolation', text: '${f("${x}")}' },
      { kind: 'literal', text: '!' },
    ]);
    expect(stringExpression('%{ if x }y%{ endif }')).toBe('"%{ if x }y%{ endif }"');
  });

  it('writes multi-line text as a heredoc and references bare', () => {
    expect(stringExpression('#!/bin/bash\necho "${var.x}"\nexit 0\n')).toBe(
      '<<EOT\n#!/bin/bash\necho "${var.x}"\nexit 0\nEOT',
    );
    expect(bareReference('aws_s3_bucket.b')).toBe('aws_s3_bucket.b');
    expect(bareReference('${aws.us_east_1}')).toBe('aws.us_east_1');
    expect(() => bareReference('not a ref!')).toThrow(/not a reference/);
  });
});

describe('renderHcl', () => {
  const hcl = renderHcl(
    {
      '//': { metadata: {} },
      terraform: {
        required_providers: { aws: { source: 'aws', version: '5.100.0' } },
        backend: { s3: { bucket: 'b', key: 'k', use_lockfile: true } },
      },
      provider: {
        aws: [
          { region: 'eu-central-1', default_tags: [{ tags: { Project: 'cyphr' } }] },
          { alias: 'us_east_1', region: 'us-east-1' },
        ],
      },
      data: {
        aws_iam_policy_document: {
          doc: {
            statement: [
              {
                actions: ['s3:GetObject'],
                resources: ['*'],
                condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['true'] }],
              },
            ],
          },
        },
      },
      resource: {
        aws_wafv2_web_acl: {
          acl: {
            '//': { metadata: { path: 'x' } },
            provider: 'aws.us_east_1',
            name: 'acl',
            default_action: { allow: {} },
            rule: [
              {
                name: 'r',
                statement: {
                  managed_rule_group_statement: {
                    name: 'g',
                    rule_action_override: [{ name: 'x', action_to_use: { count: {} } }],
                  },
                },
              },
            ],
            depends_on: ['aws_s3_bucket.b'],
            lifecycle: { ignore_changes: ['name'], create_before_destroy: true },
          },
        },
        aws_security_group: {
          sg: {
            name: 'sg',
            tags: { 'aws:cdk': 'x', Name: '${var.n}' },
            dynamic: { ingress: { for_each: '${var.ports}', content: { from_port: '${ingress.value}' } } },
          },
        },
        terraform_data: { secret: { input: '${uuid()}', triggers_replace: { generation: 1 } } },
      },
      output: { url: { value: 'https://${aws_s3_bucket.b.bucket}', description: 'd', sensitive: false } },
    },
    SHAPES,
  );

  it('writes nested blocks as blocks, including the WAFv2 statements cdktf gets wrong', () => {
    expect(hcl).toContain('  default_action {\n    allow {}\n  }');
    expect(hcl).toContain(
      '    statement {\n      managed_rule_group_statement {\n        name = "g"\n        rule_action_override {\n          name = "x"\n          action_to_use {\n            count {}',
    );
    expect(hcl).not.toContain('[object Object]');
    expect(hcl).toContain('  default_tags {\n    tags = {\n      "Project" = "cyphr"\n    }\n  }');
    expect(hcl).toContain('    condition {\n      test = "Bool"');
  });

  it('writes meta-arguments as references, and maps and objects as expressions', () => {
    expect(hcl).toContain('  provider = aws.us_east_1');
    expect(hcl).toContain('  depends_on = [aws_s3_bucket.b]');
    expect(hcl).toContain('    ignore_changes = [name]');
    expect(hcl).toContain('  tags = {\n    "aws:cdk" = "x"\n    "Name" = var.n\n  }');
    expect(hcl).toContain(
      '  dynamic "ingress" {\n    for_each = var.ports\n    content {\n      from_port = ingress.value\n    }\n  }',
    );
    expect(hcl).toContain(
      'resource "terraform_data" "secret" {\n  input = uuid()\n  triggers_replace = {\n    "generation" = 1\n  }\n}',
    );
    expect(hcl).not.toContain('metadata');
  });

  it('writes the terraform block, providers and outputs', () => {
    expect(hcl).toContain('terraform {\n  required_providers {\n    aws = {\n      "source" = "aws"');
    expect(hcl).toContain('  backend "s3" {\n    bucket = "b"\n    key = "k"\n    use_lockfile = true\n  }');
    expect(hcl.match(/^provider "aws" \{/gm)).toHaveLength(2);
    expect(hcl).toContain('  alias = "us_east_1"');
    expect(hcl).toContain('output "url" {\n  value = "https://${aws_s3_bucket.b.bucket}"');
  });

  it('refuses what it cannot render faithfully', () => {
    expect(() => renderHcl({ resource: { aws_unknown_thing: { x: {} } } }, SHAPES)).toThrow(
      /not in the provider schema/,
    );
    expect(() => renderHcl({ module: { m: {} } }, SHAPES)).toThrow(/not supported/);
  });
});

describe('plan differences', () => {
  it('lists the paths that differ', () => {
    expect(differences({ a: { b: [1, 2] } }, { a: { b: [1, 2] } })).toEqual([]);
    expect(differences({ a: { b: [1, 2] } }, { a: { b: [1, 3], c: true } })).toEqual([
      '.a.b[1]: 2 != 3',
      '.a.c: undefined != true',
    ]);
  });
});
