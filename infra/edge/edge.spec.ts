// The edge in a small test stack of its own: a bare ALB with one listener stands in for the load balancer.
import { Testing, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Lb } from '@cdktf/provider-aws/lib/lb';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { Edge, type EdgeDomain } from './edge';
import { MANAGED_POLICY_IDS } from './distribution';
import { ORIGIN_VERIFY_HEADER, slotGenerations } from './origin-verification';
import { checkPolicies } from '../policies/aspect';
import { POLICY_RULES } from '../policies/rules';
import { edgePolicyRules } from '../policies/edge-rules';

type Json = Record<string, any>;

function edgeStack(options: { domain?: EdgeDomain; protocol?: 'HTTP' | 'HTTPS'; generation?: number } = {}) {
  const stack = new TerraformStack(Testing.app(), 'edge-test');
  new AwsProvider(stack, 'aws', { region: 'eu-central-1' });
  const usEast1 = new AwsProvider(stack, 'aws-us-east-1', { region: 'us-east-1', alias: 'us_east_1' });
  const alb = new Lb(stack, 'alb', {
    name: 'test-alb',
    loadBalancerType: 'application',
    dropInvalidHeaderFields: true,
  });
  const targetGroup = new LbTargetGroup(stack, 'tg', {
    name: 'test-api',
    port: 3001,
    protocol: 'HTTP',
    vpcId: 'vpc-1',
  });
  const listener = new LbListener(stack, 'listener', {
    loadBalancerArn: alb.arn,
    port: options.protocol === 'HTTPS' ? 443 : 80,
    protocol: options.protocol ?? 'HTTP',
    defaultAction: [{ type: 'forward', targetGroupArn: targetGroup.arn }],
  });
  const edge = new Edge(stack, 'edge', {
    namePrefix: 'cyphr-test',
    accountId: '123456789012',
    usEast1,
    alb: { dnsName: alb.dnsName, targetGroupArn: targetGroup.arn, forwardingListeners: [listener] },
    domain: options.domain,
    logRetentionDays: 30,
    originSecretGeneration: options.generation,
  });
  const doc = JSON.parse(Testing.synth(stack)) as { resource: Record<string, Record<string, Json>> };
  const all = (type: string) => Object.values(doc.resource[type] ?? {});
  const one = (type: string, match: (r: Json) => boolean = () => true) => {
    const found = all(type).filter(match);
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
    return found[0];
  };
  return { stack, edge, all, one };
}

const DOMAIN: EdgeDomain = {
  name: 'api.example.com',
  hostedZoneId: 'Z0123456789ABC',
  originName: 'origin.api.example.com',
};

describe('Edge', () => {
  describe('static assets', () => {
    const { all, one } = edgeStack();
    const bucket = one('aws_s3_bucket', (b) => b.bucket === 'cyphr-test-static-123456789012');
    const ref = (attr: string) => (r: Json) => String(r.bucket).includes('edge_static-assets_bucket') && attr in r;

    it('is private: every public access block on, ACLs disabled, no public policy', () => {
      expect(bucket.force_destroy).toBe(false);
      expect(one('aws_s3_bucket_public_access_block', ref('block_public_acls'))).toMatchObject({
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      });
      expect(one('aws_s3_bucket_ownership_controls', ref('rule')).rule).toEqual({
        object_ownership: 'BucketOwnerEnforced',
      });
      expect(all('aws_s3_bucket_acl')).toEqual([]);
    });

    it('is versioned, encrypted and access-logged', () => {
      expect(one('aws_s3_bucket_versioning', ref('versioning_configuration')).versioning_configuration).toEqual({
        status: 'Enabled',
      });
      expect(one('aws_s3_bucket_server_side_encryption_configuration', ref('rule')).rule[0]).toMatchObject({
        apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' },
      });
      expect(one('aws_s3_bucket_logging', ref('target_prefix'))).toMatchObject({ target_prefix: 's3/static-assets/' });
    });

    it('is readable only by this distribution, through Origin Access Control, over TLS', () => {
      const policy = JSON.parse(one('aws_s3_bucket_policy', ref('policy')).policy);
      expect(policy.Statement[0]).toMatchObject({
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Condition: { StringEquals: { 'AWS:SourceArn': expect.stringContaining('aws_cloudfront_distribution.') } },
      });
      expect(policy.Statement[1]).toMatchObject({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
      expect(one('aws_cloudfront_origin_access_control')).toMatchObject({
        signing_behavior: 'always',
        signing_protocol: 'sigv4',
        origin_access_control_origin_type: 's3',
      });
    });
  });

  describe('CloudFront', () => {
    const { one } = edgeStack({ domain: DOMAIN, protocol: 'HTTPS' });
    const cdn = one('aws_cloudfront_distribution');

    it('serves HTTP/2 and HTTP/3 over IPv4 and IPv6, redirects viewers to HTTPS, logs, and sits behind the WAF', () => {
      expect(cdn).toMatchObject({
        enabled: true,
        http_version: 'http2and3',
        is_ipv6_enabled: true,
        aliases: ['api.example.com'],
      });
      expect(cdn.web_acl_id).toMatch(/^\$\{aws_wafv2_web_acl\..*\.arn\}$/);
      expect(cdn.logging_config).toMatchObject({ prefix: 'cloudfront/', include_cookies: false });
      expect(cdn.viewer_certificate).toMatchObject({
        ssl_support_method: 'sni-only',
        minimum_protocol_version: 'TLSv1.2_2021',
      });
    });

    it('caches static assets from S3 by default with CachingOptimized', () => {
      expect(cdn.default_cache_behavior).toMatchObject({
        target_origin_id: 'static-assets',
        viewer_protocol_policy: 'redirect-to-https',
        cache_policy_id: '658327ea-f89d-4fab-a63d-7e88639e58f6',
      });
      expect(cdn.origin[1]).toMatchObject({
        origin_id: 'static-assets',
        origin_access_control_id: expect.stringContaining('aws_cloudfront_origin_access_control'),
      });
    });

    it('sends the API and WebSocket paths to the ALB uncached, with every viewer header, cookie and query string', () => {
      expect(cdn.ordered_cache_behavior.map((b: Json) => b.path_pattern)).toEqual(['/v1/*', '/health']);
      for (const behaviour of cdn.ordered_cache_behavior) {
        expect(behaviour).toMatchObject({
          target_origin_id: 'alb',
          viewer_protocol_policy: 'https-only',
          response_headers_policy_id: expect.stringContaining('aws_cloudfront_response_headers_policy.'),
          cache_policy_id: MANAGED_POLICY_IDS.cachingDisabled,
          origin_request_policy_id: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
          allowed_methods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'POST', 'PATCH', 'DELETE'],
        });
      }
    });

    it('reaches the ALB at its own TLS name, over TLS 1.2, with the origin header', () => {
      expect(cdn.origin[0]).toMatchObject({
        origin_id: 'alb',
        domain_name: 'origin.api.example.com',
        custom_origin_config: { origin_protocol_policy: 'https-only', origin_ssl_protocols: ['TLSv1.2'] },
        custom_header: [
          { name: ORIGIN_VERIFY_HEADER, value: expect.stringMatching(/^\$\{terraform_data\..*secret-a.*\.output\}$/) },
        ],
      });
    });

    it('gets a DNS-validated certificate in us-east-1 and A/AAAA alias records', () => {
      expect(one('aws_acm_certificate')).toMatchObject({
        domain_name: 'api.example.com',
        validation_method: 'DNS',
        provider: 'aws.us_east_1',
      });
      expect(one('aws_acm_certificate_validation')).toMatchObject({ provider: 'aws.us_east_1' });
      for (const type of ['A', 'AAAA']) {
        expect(one('aws_route53_record', (r) => r.type === type)).toMatchObject({
          name: 'api.example.com',
          zone_id: 'Z0123456789ABC',
          alias: {
            name: expect.stringContaining('.domain_name}'),
            zone_id: expect.stringContaining('.hosted_zone_id}'),
          },
        });
      }
    });
  });

  describe('without a domain', () => {
    const { one, all } = edgeStack();
    it('serves on the default certificate and reaches the ALB over HTTP by its DNS name', () => {
      const cdn = one('aws_cloudfront_distribution');
      expect(cdn.viewer_certificate).toEqual({ cloudfront_default_certificate: true });
      expect(cdn.aliases).toBeUndefined();
      expect(cdn.origin[0].custom_origin_config.origin_protocol_policy).toBe('http-only');
      expect(cdn.origin[0].domain_name).toMatch(/aws_lb\..*\.dns_name/);
      expect(all('aws_acm_certificate')).toEqual([]);
      expect(all('aws_route53_record')).toEqual([]);
    });
  });

  describe('WAF', () => {
    const { one } = edgeStack();
    const acl = one('aws_wafv2_web_acl');
    it('is CloudFront-scoped in us-east-1 with the managed groups and a per-IP rate limit', () => {
      expect(acl).toMatchObject({ scope: 'CLOUDFRONT', provider: 'aws.us_east_1', default_action: { allow: {} } });
      const groups = acl.rule
        .filter((r: Json) => r.statement.managed_rule_group_statement)
        .map((r: Json) => r.statement.managed_rule_group_statement.name);
      expect(groups).toEqual([
        'AWSManagedRulesAmazonIpReputationList',
        'AWSManagedRulesCommonRuleSet',
        'AWSManagedRulesKnownBadInputsRuleSet',
      ]);
      const rate = acl.rule.find((r: Json) => r.statement.rate_based_statement);
      expect(rate).toMatchObject({
        action: { block: {} },
        statement: { rate_based_statement: { limit: 2000, aggregate_key_type: 'IP' } },
      });
    });
    it('logs what it blocked or counted to an encrypted us-east-1 log group with retention, redacting credentials', () => {
      expect(one('aws_cloudwatch_log_group')).toMatchObject({
        name: 'aws-waf-logs-cyphr-test-edge',
        retention_in_days: 30,
        provider: 'aws.us_east_1',
        kms_key_id: expect.stringContaining('aws_kms_key.'),
      });
      expect(one('aws_wafv2_web_acl_logging_configuration').redacted_fields).toEqual([
        { single_header: { name: 'authorization' } },
        { single_header: { name: 'cookie' } },
        { single_header: { name: 'sec-websocket-protocol' } },
        { query_string: {} },
      ]);
      expect(one('aws_wafv2_web_acl_logging_configuration').logging_filter).toEqual({
        default_behavior: 'DROP',
        filter: [
          {
            behavior: 'KEEP',
            requirement: 'MEETS_ANY',
            condition: [{ action_condition: { action: 'BLOCK' } }, { action_condition: { action: 'COUNT' } }],
          },
        ],
      });
    });
  });

  describe('origin verification', () => {
    const { one, all } = edgeStack({ generation: 4 });
    it('turns the listener default into 403 and forwards only requests with the header (both slots accepted)', () => {
      expect(one('aws_lb_listener').default_action).toEqual([
        {
          type: 'fixed-response',
          fixed_response: { content_type: 'text/plain', status_code: '403', message_body: 'Forbidden' },
        },
      ]);
      const rule = one('aws_lb_listener_rule');
      expect(rule.action).toEqual([
        { type: 'forward', target_group_arn: expect.stringContaining('aws_lb_target_group.') },
      ]);
      expect(rule.condition[0].http_header.http_header_name).toBe(ORIGIN_VERIFY_HEADER);
      expect(rule.condition[0].http_header.values).toHaveLength(2);
    });
    it('makes the secret in Terraform at apply time and keeps it until the generation changes', () => {
      const slots = all('terraform_data');
      expect(slots).toHaveLength(2);
      for (const slot of slots) {
        expect(slot.input).toBe('${replace(join("", [uuid(), uuid()]), "-", "")}');
        expect(slot.lifecycle).toEqual({ ignore_changes: ['input'] });
      }
      expect(slots.map((s) => s.triggers_replace.generation)).toEqual([2, 2]);
      // Generation 4 is even: slot B is the newest and the one CloudFront sends.
      expect(one('aws_cloudfront_distribution').origin[0].custom_header[0].value).toContain('secret-b');
    });
    it('changes exactly one slot per generation', () => {
      for (let g = 1; g < 10; g++) {
        const [a, b] = [slotGenerations(g), slotGenerations(g + 1)];
        expect(Number(a.a !== b.a) + Number(a.b !== b.b)).toBe(1);
        expect(b.current).toBe(a.a !== b.a ? 'a' : 'b');
      }
      expect(() => slotGenerations(0)).toThrow(/positive integer/);
    });
  });

  describe('policies', () => {
    it('pass with a domain', () => {
      const { stack } = edgeStack({ domain: DOMAIN, protocol: 'HTTPS' });
      expect(checkPolicies(stack, { production: true, rules: [...POLICY_RULES, ...edgePolicyRules(stack)] })).toEqual(
        [],
      );
    });
    it('pass without a domain only through the two named suppressions', () => {
      const { stack } = edgeStack();
      // (The stand-in HTTP listener lacks the load balancer's own alb-http-redirect suppression: edge rules only.)
      expect(checkPolicies(stack, { production: false, rules: edgePolicyRules(stack) })).toEqual([]);
      const cdn = stack.node.findAll().find((n) => n.node.path.endsWith('cdn/distribution'));
      const suppressed = cdn?.node.metadata
        .filter((m) => m.type === 'cyphr:policy-suppression')
        .map((m) => (m.data as { rule: string }).rule);
      expect(suppressed).toEqual(['cloudfront-viewer-tls', 'cloudfront-origin-https']);
    });
  });
});
