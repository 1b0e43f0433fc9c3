// One CloudFront distribution, two origins: the S3 bucket (default behaviour, cached) and the ALB
// (API and WebSocket paths, not cached, viewer headers, cookies and query strings forwarded).
import { Construct } from 'constructs';
import {
  CloudfrontDistribution,
  type CloudfrontDistributionOrderedCacheBehavior,
} from '@cdktf/provider-aws/lib/cloudfront-distribution';
import { CloudfrontOriginAccessControl } from '@cdktf/provider-aws/lib/cloudfront-origin-access-control';
import { CloudfrontResponseHeadersPolicy } from '@cdktf/provider-aws/lib/cloudfront-response-headers-policy';
import { ORIGIN_VERIFY_HEADER } from './origin-verification';

/** AWS managed policies (stable, documented ids; looking them up would need AWS at plan time). */
export const MANAGED_POLICY_IDS = {
  cachingOptimized: '658327ea-f89d-4fab-a63d-7e88639e58f6',
  cachingDisabled: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
  allViewerExceptHostHeader: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
  securityHeaders: '67f7725c-6f97-4210-82d7-5512b31e9d03',
} as const;

/** The API's routes (REST and the /v1/ws WebSocket) and the shallow health check. /metrics stays private. */
export const DEFAULT_API_PATHS = ['/v1/*', '/health'];

/** HSTS on API responses: two years, subdomains included (the API host and its origin name). */
export const HSTS_MAX_AGE_SECONDS = 63_072_000;

/** Viewer TLS floor with a custom certificate. */
export const VIEWER_TLS_POLICY = 'TLSv1.2_2021';

const ORIGINS = { api: 'alb', assets: 'static-assets' } as const;
const ALL_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'POST', 'PATCH', 'DELETE'];

export interface EdgeDistributionProps {
  namePrefix: string;
  /** Host CloudFront connects to on the ALB: its TLS name when a domain exists, else its DNS name. */
  apiOrigin: { domainName: string; https: boolean; verifyHeaderValue: string };
  staticAssets: { bucketRegionalDomainName: string };
  /** CloudFront standard logs. */
  logs: { bucketDomainName: string; prefix: string };
  webAclArn: string;
  /** Custom name and its us-east-1 certificate; none serves on the *.cloudfront.net name. */
  viewer?: { domainName: string; certificateArn: string };
  /** @default DEFAULT_API_PATHS */
  apiPaths?: string[];
  /** @default PriceClass_100 (North America, Europe) */
  priceClass?: string;
}

export class EdgeDistribution extends Construct {
  readonly distribution: CloudfrontDistribution;
  readonly originAccessControl: CloudfrontOriginAccessControl;
  readonly apiHeaders: CloudfrontResponseHeadersPolicy;

  constructor(scope: Construct, id: string, props: EdgeDistributionProps) {
    super(scope, id);
    // API clients are apps and scripts: a redirect from http:// would already have sent the bearer token in clear,
    // so API paths refuse plain HTTP (https-only) and tell browsers to never try it (HSTS).
    this.apiHeaders = new CloudfrontResponseHeadersPolicy(this, 'api-headers', {
      name: `${props.namePrefix}-api-headers`,
      comment: 'HSTS and no sniffing or framing on API responses',
      securityHeadersConfig: {
        strictTransportSecurity: {
          accessControlMaxAgeSec: HSTS_MAX_AGE_SECONDS,
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: 'DENY', override: true },
        referrerPolicy: { referrerPolicy: 'no-referrer', override: true },
      },
    });
    this.originAccessControl = new CloudfrontOriginAccessControl(this, 'oac', {
      name: `${props.namePrefix}-static-assets`,
      description: 'CloudFront signs its requests to the static assets bucket',
      originAccessControlOriginType: 's3',
      signingBehavior: 'always',
      signingProtocol: 'sigv4',
    });
    this.distribution = new CloudfrontDistribution(this, 'distribution', {
      comment: `${props.namePrefix}: static assets and the API`,
      enabled: true,
      isIpv6Enabled: true,
      httpVersion: 'http2and3',
      priceClass: props.priceClass ?? 'PriceClass_100',
      defaultRootObject: 'index.html',
      aliases: props.viewer ? [props.viewer.domainName] : undefined,
      webAclId: props.webAclArn,
      origin: [
        {
          originId: ORIGINS.api,
          domainName: props.apiOrigin.domainName,
          customOriginConfig: {
            httpPort: 80,
            httpsPort: 443,
            originProtocolPolicy: props.apiOrigin.https ? 'https-only' : 'http-only',
            originSslProtocols: ['TLSv1.2'],
            originReadTimeout: 60,
            originKeepaliveTimeout: 60,
          },
          customHeader: [{ name: ORIGIN_VERIFY_HEADER, value: props.apiOrigin.verifyHeaderValue }],
        },
        {
          originId: ORIGINS.assets,
          domainName: props.staticAssets.bucketRegionalDomainName,
          originAccessControlId: this.originAccessControl.id,
        },
      ],
      defaultCacheBehavior: {
        targetOriginId: ORIGINS.assets,
        viewerProtocolPolicy: 'redirect-to-https',
        allowedMethods: ['GET', 'HEAD', 'OPTIONS'],
        cachedMethods: ['GET', 'HEAD'],
        cachePolicyId: MANAGED_POLICY_IDS.cachingOptimized,
        responseHeadersPolicyId: MANAGED_POLICY_IDS.securityHeaders,
        compress: true,
      },
      orderedCacheBehavior: (props.apiPaths ?? DEFAULT_API_PATHS).map((path) => apiBehavior(path, this.apiHeaders.id)),
      restrictions: { geoRestriction: { restrictionType: 'none' } },
      viewerCertificate: props.viewer
        ? {
            acmCertificateArn: props.viewer.certificateArn,
            sslSupportMethod: 'sni-only',
            minimumProtocolVersion: VIEWER_TLS_POLICY,
          }
        : { cloudfrontDefaultCertificate: true },
      loggingConfig: { bucket: props.logs.bucketDomainName, prefix: props.logs.prefix, includeCookies: false },
    });
  }

  get arn(): string {
    return this.distribution.arn;
  }

  get domainName(): string {
    return this.distribution.domainName;
  }

  get hostedZoneId(): string {
    return this.distribution.hostedZoneId;
  }
}

function apiBehavior(pathPattern: string, responseHeadersPolicyId: string): CloudfrontDistributionOrderedCacheBehavior {
  return {
    pathPattern,
    targetOriginId: ORIGINS.api,
    viewerProtocolPolicy: 'https-only',
    responseHeadersPolicyId,
    allowedMethods: ALL_METHODS,
    cachedMethods: ['GET', 'HEAD'],
    cachePolicyId: MANAGED_POLICY_IDS.cachingDisabled,
    originRequestPolicyId: MANAGED_POLICY_IDS.allViewerExceptHostHeader,
    compress: true,
  };
}
