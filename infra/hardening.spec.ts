// The security limits of each shipped stack, read from its synthesized JSON: who can reach the ALB and
// on which paths, HTTPS to the origin, WAF rules and redaction, Vault Lock and the copy of backups, the
// data key's protection, and how narrowly instance roles may use keys and parameters.
import { Testing } from 'cdktf';
import { ENVIRONMENTS, TIERS, albOrigin, type EnvironmentConfig } from './config';
import { CyphrStack } from './stack';
import { AUTH_PATH_PREFIX, QUERY_TOKEN_PATTERN } from './edge/waf';
import { HSTS_MAX_AGE_SECONDS } from './edge/distribution';
import { VAULT_LOCK_COOLING_OFF_DAYS } from './operations/backup';
import { evaluate, type PolicyDocument } from './operations/evaluate-policy';

type Json = Record<string, any>;

function synth(environment: EnvironmentConfig) {
  const stack = new CyphrStack(Testing.app(), 'test', { environment, tier: TIERS[environment.tier] });
  const json = JSON.parse(Testing.synth(stack, true)) as { resource: Record<string, Record<string, Json>>; data: Json };
  const all = (type: string) => Object.values(json.resource[type] ?? {});
  const one = (type: string, match: (r: Json) => boolean = () => true) => {
    const found = all(type).filter(match);
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
    return found[0];
  };
  return { json, all, one };
}

/** ALB path-pattern matching: case-sensitive, `*` any run of characters, `?` one character. */
function albPathMatches(pattern: string, path: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(path);
}

describe.each(Object.values(ENVIRONMENTS))('$name stack: security limits', (environment) => {
  const prefix = `cyphr-${environment.name}`;
  let s: ReturnType<typeof synth>;
  beforeAll(() => {
    s = synth(environment);
  });

  it('lets only CloudFront’s origin-facing prefix list reach the ALB, on the one port its origin uses', () => {
    const albGroup = [s.one('aws_lb').security_groups].flat()[0];
    const rules = s.all('aws_vpc_security_group_ingress_rule').filter((r) => r.security_group_id === albGroup);
    expect(rules).toEqual([
      expect.objectContaining({ prefix_list_id: albOrigin(environment).prefixListId, from_port: 443, to_port: 443 }),
    ]);
    expect(rules[0].cidr_ipv4).toBeUndefined();
    expect(rules[0].cidr_ipv6).toBeUndefined();
  });

  it('forwards only the paths CloudFront sends; /metrics and /health/ready answer 403', () => {
    const rule = s.one('aws_lb_listener_rule');
    const paths: string[] = rule.condition.find((c: Json) => c.path_pattern).path_pattern.values;
    expect(paths).toEqual(['/v1/*', '/health']);
    const forwarded = (path: string) => paths.some((p) => albPathMatches(p, path));
    for (const path of ['/v1/ws', '/v1/auth/login', '/health']) expect(forwarded(path)).toBe(true);
    for (const path of ['/metrics', '/health/ready', '/', '/V1/auth/login']) expect(forwarded(path)).toBe(false);
    const listener = s.one('aws_lb_listener', (l) => l.protocol === 'HTTPS');
    expect(listener.default_action[0]).toMatchObject({
      type: 'fixed-response',
      fixed_response: { status_code: '403' },
    });
    expect(rule.listener_arn).toContain('aws_lb_listener.load_balancer_https');
  });

  it('speaks HTTPS to the origin, and API paths are https-only with HSTS', () => {
    const cdn = s.one('aws_cloudfront_distribution');
    expect(cdn.origin.find((o: Json) => o.origin_id === 'alb').custom_origin_config).toMatchObject({
      origin_protocol_policy: 'https-only',
      origin_ssl_protocols: ['TLSv1.2'],
    });
    const headers = s.one('aws_cloudfront_response_headers_policy');
    expect(headers.security_headers_config.strict_transport_security).toEqual({
      access_control_max_age_sec: HSTS_MAX_AGE_SECONDS,
      include_subdomains: true,
      override: true,
    });
    for (const behaviour of cdn.ordered_cache_behavior) {
      expect(behaviour).toMatchObject({
        viewer_protocol_policy: 'https-only',
        response_headers_policy_id: '${aws_cloudfront_response_headers_policy.edge_cdn_api_headers.id}',
      });
    }
  });

  describe('WAF', () => {
    let acl: Json;
    beforeAll(() => {
      acl = s.one('aws_wafv2_web_acl');
    });
    const rule = (name: string) => acl.rule.find((r: Json) => r.name === name);

    it('limits each client IP on /v1/auth/* separately from everything else', () => {
      expect(rule('RateLimitAuthPerIp')).toMatchObject({
        action: { block: {} },
        statement: {
          rate_based_statement: {
            limit: environment.edge?.authRateLimitPer5Minutes ?? 100,
            aggregate_key_type: 'IP',
            scope_down_statement: {
              byte_match_statement: {
                search_string: AUTH_PATH_PREFIX,
                positional_constraint: 'STARTS_WITH',
                field_to_match: { uri_path: {} },
              },
            },
          },
        },
      });
      const transforms =
        rule('RateLimitAuthPerIp').statement.rate_based_statement.scope_down_statement.byte_match_statement
          .text_transformation;
      expect(transforms.map((t: Json) => t.type)).toEqual(['URL_DECODE', 'NORMALIZE_PATH', 'LOWERCASE']);
    });

    it('blocks tokens in query strings first, and its logs never hold a token', () => {
      expect(rule('TokenInQueryString')).toMatchObject({
        priority: 0,
        action: { block: {} },
        statement: {
          regex_match_statement: { regex_string: QUERY_TOKEN_PATTERN, field_to_match: { query_string: {} } },
        },
      });
      const pattern = new RegExp(QUERY_TOKEN_PATTERN);
      for (const query of ['token=abc', 'a=1&access_token=x', 'accesstoken=x']) expect(pattern.test(query)).toBe(true);
      for (const query of ['before=10', 'page_token=x', 'cursor=tokens']) expect(pattern.test(query)).toBe(false);
      expect(s.one('aws_wafv2_web_acl_logging_configuration').redacted_fields).toEqual(
        expect.arrayContaining([{ single_header: { name: 'sec-websocket-protocol' } }, { query_string: {} }]),
      );
    });
  });

  it(environment.production ? 'locks the backup vault in compliance mode' : 'leaves the vault unlocked', () => {
    const locks = s.all('aws_backup_vault_lock_configuration');
    if (!environment.production) return expect(locks).toEqual([]);
    expect(locks).toEqual([
      {
        backup_vault_name: '${aws_backup_vault.backup_vault.name}',
        changeable_for_days: VAULT_LOCK_COOLING_OFF_DAYS,
        min_retention_days: environment.backup?.retentionDays ?? 30,
      },
    ]);
    expect(s.one('aws_backup_plan').depends_on).toContain('aws_backup_vault_lock_configuration.backup_vault_lock');
  });

  it('denies disabling or deleting the data key and the vault key where deletion protection is on', () => {
    for (const description of [`${prefix} data at rest`, `${prefix} backup vault`]) {
      const policy = JSON.parse(s.one('aws_kms_key', (k) => k.description === description).policy);
      const deny = policy.Statement.find((x: Json) => x.Sid === 'NobodyDisablesOrDeletesThisKey');
      if (!environment.deletionProtection) {
        expect(deny).toBeUndefined();
        continue;
      }
      for (const action of ['kms:DisableKey', 'kms:ScheduleKeyDeletion']) {
        const asRoot = { action, resource: '*', context: {} };
        expect(evaluate(asRoot, [policy]).decision).toBe('explicitly denied');
      }
      expect(evaluate({ action: 'kms:Decrypt', resource: '*' }, [policy]).decision).toBe('allowed');
    }
  });

  it('grants instance roles KMS only through the service that needs it', () => {
    for (const role of ['api', 'worker']) {
      const document = s.json.data.aws_iam_policy_document[`${role}_instance_role_policy_document`];
      const kms = document.statement.filter((st: Json) => st.actions.some((a: string) => a.startsWith('kms:')));
      expect(kms.length).toBeGreaterThan(0);
      for (const statement of kms) {
        expect(statement.condition).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              variable: 'kms:ViaService',
              values: [
                expect.stringMatching(
                  new RegExp(`^(sqs|secretsmanager|s3)\\.${environment.region}\\.amazonaws\\.com$`),
                ),
              ],
            }),
          ]),
        );
      }
    }
  });

  it('lets the stack’s roles read only parameters under the stack’s path', () => {
    const boundary: PolicyDocument = JSON.parse(s.one('aws_iam_policy', (p) => p.name === `${prefix}-boundary`).policy);
    const everything: PolicyDocument = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    const read = (name: string) =>
      evaluate(
        {
          action: 'ssm:GetParameter',
          resource: `arn:aws:ssm:${environment.region}:${environment.accountId}:parameter${name}`,
          context: { 'aws:RequestedRegion': environment.region },
        },
        [everything],
        boundary,
      ).decision;
    expect(read(`/${prefix}/app/setting`)).toBe('allowed');
    expect(read('/cyphr-other/app/setting')).toBe('explicitly denied');
    expect(read('/shared/database-password')).toBe('explicitly denied');
    for (const role of ['api', 'worker'])
      expect(s.one('aws_iam_role', (r) => r.name === `${prefix}-${role}`).permissions_boundary).toBe(
        '${aws_iam_policy.permissions_boundary_policy.arn}',
      );
  });
});

describe('backup copy to another account', () => {
  const environment: EnvironmentConfig = {
    ...ENVIRONMENTS.production,
    backup: { copyToVaultArn: 'arn:aws:backup:eu-west-1:333333333333:backup-vault:cyphr-production-copy' },
  };
  const s = synth(environment);

  it('copies every recovery point there and keeps it as long', () => {
    expect(s.one('aws_backup_plan').rule[0].copy_action).toEqual([
      {
        destination_vault_arn: 'arn:aws:backup:eu-west-1:333333333333:backup-vault:cyphr-production-copy',
        lifecycle: { delete_after: 30 },
      },
    ]);
  });

  it('lets only AWS Backup’s role work in the copy’s region and share the snapshot it copies', () => {
    const boundary: PolicyDocument = JSON.parse(
      s.one('aws_iam_policy', (p) => p.name === 'cyphr-production-boundary').policy,
    );
    const everything: PolicyDocument = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    const share = (principal: string) =>
      evaluate(
        {
          action: 'rds:ModifyDBSnapshotAttribute',
          resource: '*',
          context: {
            'aws:RequestedRegion': 'eu-central-1',
            'aws:PrincipalArn': `arn:aws:iam::222222222222:role/${principal}`,
          },
        },
        [everything],
        boundary,
      ).decision;
    expect(share('cyphr-production-backup')).toBe('allowed');
    expect(share('cyphr-production-api')).toBe('explicitly denied');
    const copy = evaluate(
      { action: 'rds:CopyDBSnapshot', resource: '*', context: { 'aws:RequestedRegion': 'eu-west-1' } },
      [everything],
      boundary,
    );
    expect(copy.decision).toBe('allowed');
  });

  it('lets that account use the data key for the copy, grants only for AWS services', () => {
    const policy = JSON.parse(s.one('aws_kms_key', (k) => k.description === 'cyphr-production data at rest').policy);
    const sids = policy.Statement.filter((x: Json) => x.Principal?.AWS === 'arn:aws:iam::333333333333:root');
    expect(sids.map((x: Json) => x.Sid)).toEqual([
      'BackupCopyAccountReadsCopies',
      'BackupCopyAccountGrantsToAwsBackup',
    ]);
    expect(sids[1].Condition).toEqual({ Bool: { 'kms:GrantIsForAWSResource': 'true' } });
  });
});

describe('a throwaway environment without a domain (edge.plainHttpOrigin)', () => {
  const environment: EnvironmentConfig = {
    ...ENVIRONMENTS.staging,
    domain: undefined,
    edge: { plainHttpOrigin: true },
  };
  const s = synth(environment);

  it('still admits only CloudFront, on the HTTP listener it forwards from, with the same paths', () => {
    const rules = s.all('aws_vpc_security_group_ingress_rule').filter((r) => r.prefix_list_id);
    expect(rules.map((r) => [r.prefix_list_id, r.from_port])).toEqual([[albOrigin(environment).prefixListId, 80]]);
    expect(s.one('aws_lb_listener_rule').listener_arn).toContain('aws_lb_listener.load_balancer_http');
    expect(s.one('aws_cloudfront_distribution').origin[0].custom_origin_config.origin_protocol_policy).toBe(
      'http-only',
    );
  });
});
