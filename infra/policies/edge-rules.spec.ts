// Each edge rule fails synth on a deliberately bad resource, through the PolicyAspect.
import { Aspects, Testing, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import {
  CloudfrontDistribution,
  type CloudfrontDistributionConfig,
} from '@cdktf/provider-aws/lib/cloudfront-distribution';
import { Wafv2WebAcl } from '@cdktf/provider-aws/lib/wafv2-web-acl';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { LbListenerRule } from '@cdktf/provider-aws/lib/lb-listener-rule';
import { PolicyAspect } from './aspect';
import { edgePolicyRules, KNOWN_BAD_INPUTS } from './edge-rules';
import { suppressPolicy } from './suppressions';

function stackWith(build: (scope: Construct) => void): TerraformStack {
  const stack = new TerraformStack(Testing.app(), 'edge-policy-test');
  new AwsProvider(stack, 'aws', { region: 'eu-central-1' });
  build(stack);
  Aspects.of(stack).add(new PolicyAspect({ production: true, rules: edgePolicyRules(stack) }));
  return stack;
}

const managed = (name: string, count = false) => ({
  name,
  priority: 1,
  overrideAction: count ? { count: {} } : { none: {} },
  statement: { managed_rule_group_statement: { name, vendor_name: 'AWS' } },
  visibilityConfig: { cloudwatchMetricsEnabled: true, metricName: name, sampledRequestsEnabled: true },
});
const acl = (s: Construct, groups = [managed(KNOWN_BAD_INPUTS)]) =>
  new Wafv2WebAcl(s, 'acl', {
    name: 'acl',
    scope: 'CLOUDFRONT',
    defaultAction: { allow: {} },
    rule: groups,
    visibilityConfig: { cloudwatchMetricsEnabled: true, metricName: 'acl', sampledRequestsEnabled: true },
  });
const behaviour = {
  targetOriginId: 'o',
  viewerProtocolPolicy: 'redirect-to-https',
  allowedMethods: ['GET', 'HEAD'],
  cachedMethods: ['GET', 'HEAD'],
};
const distribution = (s: Construct, overrides: Partial<CloudfrontDistributionConfig> = {}) =>
  new CloudfrontDistribution(s, 'cdn', {
    enabled: true,
    webAclId: acl(s).arn,
    origin: [
      {
        originId: 'o',
        domainName: 'origin.example.com',
        customOriginConfig: {
          httpPort: 80,
          httpsPort: 443,
          originProtocolPolicy: 'https-only',
          originSslProtocols: ['TLSv1.2'],
        },
      },
    ],
    defaultCacheBehavior: behaviour,
    restrictions: { geoRestriction: { restrictionType: 'none' } },
    viewerCertificate: {
      acmCertificateArn: 'arn:aws:acm:us-east-1:1:certificate/x',
      sslSupportMethod: 'sni-only',
      minimumProtocolVersion: 'TLSv1.2_2021',
    },
    loggingConfig: { bucket: 'logs.s3.amazonaws.com' },
    ...overrides,
  });
const blocked = (s: Construct, bucket: S3Bucket, all = true) =>
  new S3BucketPublicAccessBlock(s, 'pab', {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: all,
  });

const BAD: Record<string, (s: Construct) => unknown> = {
  'cloudfront-viewer-tls': (s) => distribution(s, { viewerCertificate: { cloudfrontDefaultCertificate: true } }),
  'cloudfront-https-viewers': (s) =>
    distribution(s, {
      orderedCacheBehavior: [{ ...behaviour, pathPattern: '/v1/*', viewerProtocolPolicy: 'allow-all' }],
    }),
  'cloudfront-origin-https': (s) =>
    distribution(s, {
      origin: [
        {
          originId: 'o',
          domainName: 'alb',
          customOriginConfig: {
            httpPort: 80,
            httpsPort: 443,
            originProtocolPolicy: 'http-only',
            originSslProtocols: ['TLSv1.2'],
          },
        },
      ],
    }),
  'cloudfront-waf': (s) => distribution(s, { webAclId: undefined }),
  'cloudfront-access-logs': (s) => distribution(s, { loggingConfig: undefined }),
  'waf-known-bad-inputs': (s) => acl(s, [managed('AWSManagedRulesCommonRuleSet'), managed(KNOWN_BAD_INPUTS, true)]),
  'bucket-public-access-blocked': (s) => blocked(s, new S3Bucket(s, 'bucket', { bucket: 'b' }), false),
  'alb-cloudfront-only': (s) => {
    const listener = new LbListener(s, 'listener', {
      loadBalancerArn: 'arn',
      port: 443,
      protocol: 'HTTPS',
      defaultAction: [{ type: 'forward', targetGroupArn: 'tg' }],
    });
    new LbListenerRule(s, 'rule', {
      listenerArn: listener.arn,
      action: [{ type: 'forward', targetGroupArn: 'tg' }],
      condition: [{ pathPattern: { values: ['/*'] } }],
    });
  },
};

describe('edge policy rules', () => {
  it.each(Object.keys(BAD))('%s fails synth on a bad resource', (rule) => {
    const stack = stackWith((s) => BAD[rule](s));
    expect(() => Testing.synth(stack, true)).toThrow(new RegExp(`policy ${rule} \\(`));
  });

  it('a distribution that does everything right passes', () => {
    const stack = stackWith((s) => distribution(s));
    expect(() => Testing.synth(stack, true)).not.toThrow();
  });

  it('a fully blocked bucket passes; a named suppression lets one bad resource through', () => {
    expect(() =>
      Testing.synth(
        stackWith((s) => blocked(s, new S3Bucket(s, 'bucket', { bucket: 'b' }))),
        true,
      ),
    ).not.toThrow();
    const stack = stackWith((s) => {
      const cdn = distribution(s, { viewerCertificate: { cloudfrontDefaultCertificate: true } });
      suppressPolicy(cdn, 'cloudfront-viewer-tls', 'test: no domain, so the default certificate is all there is');
    });
    expect(() => Testing.synth(stack, true)).not.toThrow();
  });
});
