// WAFv2 web ACL for CloudFront (the plan's DDoS protection): AWS managed rule groups (common rules,
// known bad inputs, IP reputation), a rate limit per client IP, a tighter one on /v1/auth/*, a block on
// tokens in query strings, and logs to an encrypted log group with credentials redacted.
// CloudFront-scoped ACLs, their log groups and those groups' keys live in us-east-1.
//
// Rate-based rules aggregate by the whole client address (IP, FORWARDED_IP, CUSTOM_KEYS with `ip`, CONSTANT):
// WAF has no IPv6 prefix key, so one /64 counts as many clients here. The API keys its own limits by /64.
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Wafv2WebAcl, type Wafv2WebAclRule } from '@cdktf/provider-aws/lib/wafv2-web-acl';
import { Wafv2WebAclLoggingConfiguration } from '@cdktf/provider-aws/lib/wafv2-web-acl-logging-configuration';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchLogResourcePolicy } from '@cdktf/provider-aws/lib/cloudwatch-log-resource-policy';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { logsKeyPolicy } from '../constructs/security';

/** Managed rule groups, in evaluation order. */
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesAmazonIpReputationList',
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
] as const;

/** Login, registration, refresh and password change: guessed passwords and stuffed credentials aim here. */
export const AUTH_PATH_PREFIX = '/v1/auth/';

/** A bearer token in a query string (`token=`, `access_token=`, `accessToken=`), after URL decoding and lower-casing. */
export const QUERY_TOKEN_PATTERN = '(^|&)(access_?)?token=';

/** Headers that carry credentials: never written to WAF logs. The WebSocket subprotocol may carry the access token. */
export const REDACTED_HEADERS = ['authorization', 'cookie', 'sec-websocket-protocol'];

/** Common-rule-set rules only counted: message payloads are ciphertext and may exceed 8 KB; the API enforces its own size limits. */
export const COUNTED_COMMON_RULES = ['SizeRestrictions_BODY'];

export interface EdgeWafProps {
  namePrefix: string;
  accountId: string;
  /** Provider for us-east-1. */
  provider: AwsProvider;
  /** Requests per client IP in any 5-minute window before it is blocked. @default 2000 */
  rateLimitPer5Minutes?: number;
  /** Requests per client IP to AUTH_PATH_PREFIX in any 5-minute window before it is blocked. @default 100 */
  authRateLimitPer5Minutes?: number;
  /** Days WAF logs are kept. */
  logRetentionDays: number;
}

const US_EAST_1 = 'us-east-1';

export class EdgeWaf extends Construct {
  readonly webAcl: Wafv2WebAcl;
  readonly logGroup: CloudwatchLogGroup;
  readonly key: KmsKey;

  constructor(scope: Construct, id: string, props: EdgeWafProps) {
    super(scope, id);
    const provider = props.provider;
    const name = `${props.namePrefix}-edge`;
    this.webAcl = new Wafv2WebAcl(this, 'web-acl', {
      provider,
      name,
      description: 'Cyphr CloudFront: managed rules and a per-IP rate limit',
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      rule: [
        tokenInQueryRule(0),
        ...MANAGED_RULE_GROUPS.map((group, i) => managedRule(group, i + 1)),
        rateRule(props.rateLimitPer5Minutes ?? 2000, 10),
        authRateRule(props.authRateLimitPer5Minutes ?? 100, 11),
      ],
      visibilityConfig: visibility(name),
    });
    this.key = new KmsKey(this, 'logs-key', {
      provider,
      description: `${props.namePrefix} edge logs (us-east-1)`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: JSON.stringify(logsKeyPolicy(props.accountId, US_EAST_1)),
    });
    // WAF requires the aws-waf-logs- prefix.
    this.logGroup = new CloudwatchLogGroup(this, 'logs', {
      provider,
      name: `aws-waf-logs-${name}`,
      kmsKeyId: this.key.arn,
      retentionInDays: props.logRetentionDays,
    });
    const delivery = new CloudwatchLogResourcePolicy(this, 'log-delivery', {
      provider,
      policyName: `${name}-waf-log-delivery`,
      policyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'WafDeliversLogs',
            Effect: 'Allow',
            Principal: { Service: 'delivery.logs.amazonaws.com' },
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: `${this.logGroup.arn}:*`,
            Condition: { StringEquals: { 'aws:SourceAccount': props.accountId } },
          },
        ],
      }),
    });
    new Wafv2WebAclLoggingConfiguration(this, 'logging', {
      provider,
      resourceArn: this.webAcl.arn,
      logDestinationConfigs: [this.logGroup.arn],
      // Bearer tokens, cookies and the WebSocket subprotocol never reach the logs; nor does any query string
      // (a client that still sends ?token= is blocked, and its token must not be kept for a year).
      redactedFields: [...REDACTED_HEADERS.map((name) => ({ singleHeader: { name } })), { queryString: {} }],
      // Only what WAF acted on (blocked, or counted by a rule in count mode): logging every allowed request
      // costs about $900 a month at 100K users and says nothing the ALB's access logs do not.
      loggingFilter: {
        defaultBehavior: 'DROP',
        filter: [
          {
            behavior: 'KEEP',
            requirement: 'MEETS_ANY',
            condition: [{ actionCondition: { action: 'BLOCK' } }, { actionCondition: { action: 'COUNT' } }],
          },
        ],
      },
      dependsOn: [delivery],
    });
  }

  get arn(): string {
    return this.webAcl.arn;
  }
}

function visibility(metricName: string) {
  return { cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName };
}

function managedRule(group: string, priority: number): Wafv2WebAclRule {
  const counted = group === 'AWSManagedRulesCommonRuleSet' ? COUNTED_COMMON_RULES : [];
  return {
    name: group,
    priority,
    overrideAction: { none: {} },
    // WAFv2 statements are typed `any` by the provider bindings: Terraform (snake_case) names here.
    statement: {
      managed_rule_group_statement: {
        name: group,
        vendor_name: 'AWS',
        ...(counted.length
          ? { rule_action_override: counted.map((rule) => ({ name: rule, action_to_use: { count: {} } })) }
          : {}),
      },
    },
    visibilityConfig: visibility(group),
  };
}

function rateRule(limit: number, priority: number): Wafv2WebAclRule {
  return {
    name: 'RateLimitPerIp',
    priority,
    action: { block: {} },
    statement: { rate_based_statement: { limit, aggregate_key_type: 'IP', evaluation_window_sec: 300 } },
    visibilityConfig: visibility('RateLimitPerIp'),
  };
}

/** Case and encoding tricks must not slip past a path or query match. */
const DECODED_LOWERCASE = [
  { priority: 0, type: 'URL_DECODE' },
  { priority: 1, type: 'LOWERCASE' },
];

/** Tokens belong in headers or the WebSocket subprotocol; one in a URL would land in CloudFront's and the ALB's logs. */
function tokenInQueryRule(priority: number): Wafv2WebAclRule {
  return {
    name: 'TokenInQueryString',
    priority,
    action: { block: {} },
    statement: {
      regex_match_statement: {
        regex_string: QUERY_TOKEN_PATTERN,
        field_to_match: { query_string: {} },
        text_transformation: DECODED_LOWERCASE,
      },
    },
    visibilityConfig: visibility('TokenInQueryString'),
  };
}

function authRateRule(limit: number, priority: number): Wafv2WebAclRule {
  return {
    name: 'RateLimitAuthPerIp',
    priority,
    action: { block: {} },
    statement: {
      rate_based_statement: {
        limit,
        aggregate_key_type: 'IP',
        evaluation_window_sec: 300,
        scope_down_statement: {
          byte_match_statement: {
            search_string: AUTH_PATH_PREFIX,
            positional_constraint: 'STARTS_WITH',
            field_to_match: { uri_path: {} },
            // The API's router ignores case; NORMALIZE_PATH folds // and /./ the way a path resolver would.
            text_transformation: [
              { priority: 0, type: 'URL_DECODE' },
              { priority: 1, type: 'NORMALIZE_PATH' },
              { priority: 2, type: 'LOWERCASE' },
            ],
          },
        },
      },
    },
    visibilityConfig: visibility('RateLimitAuthPerIp'),
  };
}
