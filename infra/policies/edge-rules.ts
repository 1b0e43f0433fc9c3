// Policy rules for the edge and the buckets, in the shape of rules.ts. Some need facts that span
// resources (which bucket has a public access block, which web ACL a distribution uses); those are
// read from the stack once, when the first check runs (validation time: every resource exists).
import { TerraformResource, TerraformStack } from 'cdktf';
import { attributesOf } from './aspect';
import type { Attributes, PolicyRule } from './rules';

const list = (value: unknown): Attributes[] => (Array.isArray(value) ? value : value ? [value] : []) as Attributes[];
const truthy = (value: unknown) => value === true || value === 'true';

export const KNOWN_BAD_INPUTS = 'AWSManagedRulesKnownBadInputsRuleSet';
const HTTPS_VIEWER_POLICIES = ['redirect-to-https', 'https-only'];

interface EdgeFacts {
  /** aws_s3_bucket addresses and literal names whose public access block has all four settings on. */
  blockedBuckets: Set<string>;
  /** `${aws_wafv2_web_acl.x.arn}` references (and literal ARNs) of ACLs using the known-bad-inputs group. */
  aclsWithKnownBadInputs: Set<string>;
}

function managedGroups(webAcl: Attributes): { name: string; counted: boolean }[] {
  return list(webAcl.rule).flatMap((rule) =>
    list(list(rule.statement)[0]?.managed_rule_group_statement).map((g) => ({
      name: String(g.name),
      counted: list(rule.override_action).some((o) => o.count !== undefined),
    })),
  );
}

function collectFacts(stack: TerraformStack): EdgeFacts {
  const facts: EdgeFacts = { blockedBuckets: new Set(), aclsWithKnownBadInputs: new Set() };
  for (const node of stack.node.findAll()) {
    if (!TerraformResource.isTerraformResource(node)) continue;
    const type = node.terraformResourceType;
    if (type === 'aws_s3_bucket_public_access_block') {
      const a = attributesOf(node);
      const all = ['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets'].every(
        (k) => truthy(a[k]),
      );
      if (!all) continue;
      const bucket = String(a.bucket);
      facts.blockedBuckets.add(bucket);
      const ref = /^\$\{(aws_s3_bucket\.[^.}]+)\.(id|bucket)\}$/.exec(bucket);
      if (ref) facts.blockedBuckets.add(ref[1]);
    }
    if (
      type === 'aws_wafv2_web_acl' &&
      managedGroups(attributesOf(node)).some((g) => g.name === KNOWN_BAD_INPUTS && !g.counted)
    ) {
      facts.aclsWithKnownBadInputs.add(`\${aws_wafv2_web_acl.${node.friendlyUniqueId}.arn}`);
    }
  }
  return facts;
}

function behaviours(a: Attributes): Attributes[] {
  return [...list(a.default_cache_behavior), ...list(a.ordered_cache_behavior)];
}

/** The edge rules for `stack` (cross-resource facts are read from it lazily, once). */
export function edgePolicyRules(stack: TerraformStack): PolicyRule[] {
  let cached: EdgeFacts | undefined;
  const facts = () => (cached ??= collectFacts(stack));
  return [
    {
      id: 'cloudfront-viewer-tls',
      description: 'CloudFront viewers negotiate TLS 1.2 or newer',
      types: ['aws_cloudfront_distribution'],
      check: (a) => {
        const cert = list(a.viewer_certificate)[0] ?? {};
        if (truthy(cert.cloudfront_default_certificate))
          return 'the default certificate allows TLS 1.0: use an ACM certificate with minimum_protocol_version TLSv1.2_2021';
        return /^TLSv1\.[23]_/.test(String(cert.minimum_protocol_version))
          ? undefined
          : 'viewer_certificate.minimum_protocol_version must be TLSv1.2_* or newer';
      },
    },
    {
      id: 'cloudfront-https-viewers',
      description: 'Every CloudFront behaviour redirects viewers to HTTPS or requires it',
      types: ['aws_cloudfront_distribution'],
      check: (a) => {
        const plain = behaviours(a).filter((b) => !HTTPS_VIEWER_POLICIES.includes(String(b.viewer_protocol_policy)));
        return plain.length
          ? `viewer_protocol_policy must be redirect-to-https or https-only (${plain.map((b) => b.path_pattern ?? 'default').join(', ')})`
          : undefined;
      },
    },
    {
      id: 'cloudfront-origin-https',
      description: 'CloudFront reaches custom origins over TLS 1.2 only',
      types: ['aws_cloudfront_distribution'],
      check: (a) => {
        const custom = list(a.origin).flatMap((o) => list(o.custom_origin_config));
        const bad = custom.filter(
          (c) =>
            c.origin_protocol_policy !== 'https-only' ||
            list(c.origin_ssl_protocols).some((p) => String(p) !== 'TLSv1.2'),
        );
        return bad.length
          ? 'custom origins need origin_protocol_policy https-only and origin_ssl_protocols ["TLSv1.2"]'
          : undefined;
      },
    },
    {
      id: 'cloudfront-waf',
      description: 'CloudFront is protected by a WAF web ACL using the known-bad-inputs rule group',
      types: ['aws_cloudfront_distribution'],
      check: (a) => {
        if (!a.web_acl_id) return 'web_acl_id must attach a WAFv2 web ACL';
        return facts().aclsWithKnownBadInputs.has(String(a.web_acl_id))
          ? undefined
          : `the web ACL ${a.web_acl_id} must block with ${KNOWN_BAD_INPUTS}`;
      },
    },
    {
      id: 'cloudfront-access-logs',
      description: 'CloudFront writes access logs',
      types: ['aws_cloudfront_distribution'],
      check: (a) => (list(a.logging_config)[0]?.bucket ? undefined : 'logging_config.bucket must be set'),
    },
    {
      id: 'waf-known-bad-inputs',
      description: 'WAF web ACLs block with the known-bad-inputs managed rule group',
      types: ['aws_wafv2_web_acl'],
      check: (a) =>
        managedGroups(a).some((g) => g.name === KNOWN_BAD_INPUTS && !g.counted)
          ? undefined
          : `add the ${KNOWN_BAD_INPUTS} managed rule group (not in count mode)`,
    },
    {
      id: 'bucket-public-access-blocked',
      description: 'S3 buckets block every kind of public access',
      types: ['aws_s3_bucket'],
      check: (a, _ctx, address) =>
        facts().blockedBuckets.has(address) || facts().blockedBuckets.has(String(a.bucket))
          ? undefined
          : 'needs an aws_s3_bucket_public_access_block with all four settings true',
    },
    {
      id: 'alb-cloudfront-only',
      description: 'ALB listeners forward nothing by default: only rules matching the CloudFront origin header forward',
      types: ['aws_lb_listener', 'aws_alb_listener', 'aws_lb_listener_rule', 'aws_alb_listener_rule'],
      check: (a) => {
        if ('listener_arn' in a) {
          const forwards = list(a.action).some((x) => x.type === 'forward' || list(x.forward).length);
          const headerChecked = list(a.condition).some((c) => list(c.http_header).length);
          return forwards && !headerChecked
            ? 'a forwarding rule must require the CloudFront origin header (http_header condition)'
            : undefined;
        }
        const direct = list(a.default_action).filter((x) => !['fixed-response', 'redirect'].includes(String(x.type)));
        return direct.length
          ? 'default_action must be fixed-response (403) or redirect: clients reach the API only through CloudFront'
          : undefined;
      },
    },
  ];
}
