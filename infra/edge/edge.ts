// The edge in front of the ALB: Route 53 + ACM (when a domain is configured), CloudFront with WAF,
// the private static-assets bucket, and the origin check that keeps the ALB behind CloudFront.
import { Construct } from 'constructs';
import { Annotations } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { suppressPolicy } from '../policies/suppressions';
import { EDGE_LOG_PREFIXES, EdgeLogBucket, StaticAssetsBucket } from './buckets';
import { DEFAULT_API_PATHS, EdgeDistribution } from './distribution';
import { aliasRecords, ValidatedCertificate } from './dns';
import { OriginVerification } from './origin-verification';
import { EdgeWaf } from './waf';

export interface EdgeDomain {
  /** Name viewers use; CloudFront's alias and certificate. */
  name: string;
  hostedZoneId: string;
  /** Name of the ALB (its own regional certificate and record), the HTTPS origin CloudFront connects to. */
  originName: string;
}

export interface EdgeProps {
  namePrefix: string;
  accountId: string;
  /** Provider for us-east-1: CloudFront's certificate, the WAF and its logs. */
  usEast1: AwsProvider;
  alb: {
    dnsName: string;
    targetGroupArn: string;
    /** Listeners that forward to the API: each answers 403 unless the origin header is present. */
    forwardingListeners: LbListener[];
  };
  /** Without one, CloudFront serves on its *.cloudfront.net name and reaches the ALB over HTTP. */
  domain?: EdgeDomain;
  logRetentionDays: number;
  /** @default false */
  forceDestroy?: boolean;
  /** @default DEFAULT_API_PATHS */
  apiPaths?: string[];
  /** @default 2000 */
  rateLimitPer5Minutes?: number;
  /** @default 100 */
  authRateLimitPer5Minutes?: number;
  /** @default PriceClass_100 */
  priceClass?: string;
  /** Bump to rotate the origin header secret. @default 1 */
  originSecretGeneration?: number;
}

export class Edge extends Construct {
  readonly logBucket: EdgeLogBucket;
  readonly staticAssets: StaticAssetsBucket;
  readonly waf: EdgeWaf;
  readonly originVerification: OriginVerification;
  readonly distribution: EdgeDistribution;
  readonly certificate?: ValidatedCertificate;
  /** Host name viewers use: the domain, else the distribution's *.cloudfront.net name. */
  readonly viewerHost: string;

  constructor(scope: Construct, id: string, props: EdgeProps) {
    super(scope, id);
    const { namePrefix, accountId } = props;
    this.logBucket = new EdgeLogBucket(this, 'logs', {
      bucketName: `${namePrefix}-edge-logs-${accountId}`,
      accountId,
      retentionDays: props.logRetentionDays,
      forceDestroy: props.forceDestroy,
    });
    this.staticAssets = new StaticAssetsBucket(this, 'static-assets', {
      bucketName: `${namePrefix}-static-${accountId}`,
      logBucket: this.logBucket,
      forceDestroy: props.forceDestroy,
    });
    this.waf = new EdgeWaf(this, 'waf', {
      namePrefix,
      accountId,
      provider: props.usEast1,
      rateLimitPer5Minutes: props.rateLimitPer5Minutes,
      authRateLimitPer5Minutes: props.authRateLimitPer5Minutes,
      logRetentionDays: props.logRetentionDays,
    });
    this.originVerification = new OriginVerification(this, 'origin-verification', {
      listeners: props.alb.forwardingListeners,
      targetGroupArn: props.alb.targetGroupArn,
      generation: props.originSecretGeneration,
      paths: props.apiPaths ?? DEFAULT_API_PATHS,
    });
    const domain = props.domain;
    if (domain) {
      this.certificate = new ValidatedCertificate(this, 'certificate', {
        domainName: domain.name,
        hostedZoneId: domain.hostedZoneId,
        provider: props.usEast1,
      });
    }
    this.distribution = new EdgeDistribution(this, 'cdn', {
      namePrefix,
      apiOrigin: {
        domainName: domain?.originName ?? props.alb.dnsName,
        https: !!domain,
        verifyHeaderValue: this.originVerification.value,
      },
      staticAssets: { bucketRegionalDomainName: this.staticAssets.bucket.bucketRegionalDomainName },
      logs: { bucketDomainName: this.logBucket.domainName, prefix: EDGE_LOG_PREFIXES.cloudFront },
      webAclArn: this.waf.arn,
      viewer:
        domain && this.certificate ? { domainName: domain.name, certificateArn: this.certificate.arn } : undefined,
      apiPaths: props.apiPaths,
      priceClass: props.priceClass,
    });
    this.staticAssets.allowReadFrom(this.distribution.arn);
    this.viewerHost = domain?.name ?? this.distribution.domainName;
    if (domain) {
      aliasRecords(this, 'alias', domain.hostedZoneId, domain.name, {
        dnsName: this.distribution.domainName,
        hostedZoneId: this.distribution.hostedZoneId,
      });
    } else {
      suppressPolicy(
        this.distribution.distribution,
        'cloudfront-viewer-tls',
        'No domain configured: the default *.cloudfront.net certificate fixes the viewer security policy; set a domain for TLS 1.2+',
      );
      suppressPolicy(
        this.distribution.distribution,
        'cloudfront-origin-https',
        'No domain configured: the ALB has no certificate CloudFront could verify, so the origin hop is HTTP until a domain is set',
      );
      Annotations.of(this).addWarning(
        'No domain configured: CloudFront serves on *.cloudfront.net (TLS 1.0+ policy) and reaches the ALB over HTTP.',
      );
    }
  }

  /** The URL clients use. */
  get url(): string {
    return `https://${this.viewerHost}`;
  }
}
