// The JSON -> HCL renderer: templates, blocks vs arguments, meta-arguments, ephemeral blocks and
// write-only arguments, one file per top-level construct. Real plans of the rendered stacks are compared
// in infra/test/plans.test.ts, of the ephemeral fixture in infra/test/hcl-ephemeral.test.ts.
import { bareReference, parseTemplate, stringExpression } from './template';
import { renderHcl, renderHclFiles } from './render';
import { differences } from './compare';
import type { ProviderShapes } from './schema';
import { EPHEMERAL_FIXTURE } from './fixtures';

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
    aws_db_instance: { timeouts: {} },
    aws_secretsmanager_secret: { replica: {} },
    aws_secretsmanager_secret_version: {},
  },
  data: { aws_iam_policy_document: { statement: { condition: {} } } },
  ephemeral: { aws_secretsmanager_random_password: {} },
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

describe('ephemeral blocks and write-only arguments', () => {
  const hcl = renderHcl(EPHEMERAL_FIXTURE, SHAPES);

  it('writes an ephemeral block as a top-level block with its two labels', () => {
    expect(hcl).toContain(
      'ephemeral "aws_secretsmanager_random_password" "db_master" {\n  password_length = 40\n  exclude_punctuation = true\n}',
    );
  });

  it('hands the ephemeral value to write-only arguments as bare references and inside jsonencode()', () => {
    expect(hcl).toContain(
      '  password_wo = ephemeral.aws_secretsmanager_random_password.db_master.random_password\n  password_wo_version = 1',
    );
    expect(hcl).toContain(
      '  secret_string_wo = jsonencode({username = "cyphr_admin", password = ephemeral.aws_secretsmanager_random_password.db_master.random_password})',
    );
    expect(hcl).toContain('  secret_string_wo_version = 1');
  });

  it('refuses an ephemeral type the provider does not have', () => {
    expect(() => renderHcl({ ephemeral: { aws_random_thing: { x: {} } } }, SHAPES)).toThrow(
      /ephemeral type aws_random_thing is not in the provider schema/,
    );
  });
});

describe('renderHclFiles', () => {
  const doc = {
    '//': { metadata: {} },
    terraform: { required_providers: { aws: { source: 'aws', version: '5.100.0' } } },
    provider: { aws: [{ region: 'eu-central-1' }] },
    ...EPHEMERAL_FIXTURE,
    data: {
      aws_iam_policy_document: {
        api_instance_role_policy_document: {
          '//': { metadata: { path: 'test/api/instance-role/policy-document' } },
          statement: [{ actions: ['sqs:SendMessage'], resources: ['*'] }],
        },
      },
    },
    resource: {
      ...EPHEMERAL_FIXTURE.resource,
      aws_security_group: {
        load_balancer_alb: { '//': { metadata: { path: 'test/load-balancer/alb' } }, name: 'alb' },
        // Added by an override on the stack: no construct path.
        extra: { name: 'extra' },
      },
    },
    output: { db: { value: '${aws_db_instance.database_primary.address}' } },
  };
  const files = renderHclFiles(doc, SHAPES);

  it('puts each block in the file of its top-level construct, stack-level blocks in their own files', () => {
    expect(Object.keys(files)).toEqual([
      'api.tf',
      'database.tf',
      'load-balancer.tf',
      'main.tf',
      'outputs.tf',
      'providers.tf',
      'terraform.tf',
    ]);
    expect(files['database.tf']).toContain('resource "aws_db_instance" "database_primary" {');
    expect(files['database.tf']).toContain(
      'resource "aws_secretsmanager_secret_version" "database_master_secret_value" {',
    );
    expect(files['api.tf']).toContain('data "aws_iam_policy_document" "api_instance_role_policy_document" {');
    expect(files['load-balancer.tf']).toContain('resource "aws_security_group" "load_balancer_alb" {');
    expect(files['outputs.tf']).toContain('output "db" {');
    expect(files['providers.tf']).toContain('provider "aws" {');
    expect(files['terraform.tf']).toContain('terraform {');
  });

  it('puts a block without a construct path beside its users when they share a file, else in main.tf', () => {
    expect(files['database.tf']).toContain('ephemeral "aws_secretsmanager_random_password" "db_master" {');
    expect(files['main.tf']).toContain('resource "aws_security_group" "extra" {');
    expect(files['main.tf']).not.toContain('ephemeral');
  });

  it('splits without losing or repeating a block: the files hold exactly the blocks of the single rendering', () => {
    const blocks = (text: string) => text.trim().split('\n\n');
    expect(Object.values(files).flatMap(blocks).sort()).toEqual(blocks(renderHcl(doc, SHAPES)).sort());
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
