// Internet-facing ALB in the public subnets (reachable only from CloudFront's origin-facing prefix
// list, security.ts), target group :3001 `/health`, TLS listener when a certificate exists. Without a
// domain (only a throwaway environment that sets edge.plainHttpOrigin) there is no certificate, so the
// ALB serves plain HTTP on port 80, a documented, suppressed policy exception.
import { Construct } from 'constructs';
import { Annotations, TerraformIterator, Token } from 'cdktf';
import { Lb } from '@cdktf/provider-aws/lib/lb';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { LbListener, type LbListenerDefaultAction } from '@cdktf/provider-aws/lib/lb-listener';
import { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate';
import { AcmCertificateValidation } from '@cdktf/provider-aws/lib/acm-certificate-validation';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record';
import type { DomainConfig } from '../config/environments';
import { suppressPolicy } from '../policies/suppressions';
import { AccessLogBucket } from './access-logs';
import { API_PORT, HTTP_PORT, HTTPS_PORT } from './security';
import { ALB_IDLE_TIMEOUT_SECONDS } from '../../common/operations/timeouts';

/** TLS 1.2 and 1.3 only, forward-secret ciphers. */
export const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

export interface LoadBalancerProps {
  namePrefix: string;
  vpcId: string;
  publicSubnetIds: string[];
  securityGroupId: string;
  accessLogs: AccessLogBucket;
  /** Certificate and DNS record for this name; none means HTTP only. */
  domain?: DomainConfig;
  /** @default true */
  deletionProtection?: boolean;
  /**
   * Seconds the ALB keeps an idle connection open. Must stay below the API's keep-alive timeout (the target
   * closes last, or the ALB reuses a connection the API just closed: 502); the WebSocket gateway pings every
   * socket more often than this. @default ALB_IDLE_TIMEOUT_SECONDS (60)
   */
  idleTimeoutSeconds?: number;
  /** @default /health */
  healthCheckPath?: string;
}

export class LoadBalancer extends Construct {
  readonly alb: Lb;
  readonly targetGroup: LbTargetGroup;
  readonly certificate?: AcmCertificate;
  readonly listeners: LbListener[] = [];
  /** The listeners that forward to the API (HTTPS with a domain, else HTTP): CloudFront's origin port. */
  readonly forwardingListeners: LbListener[] = [];

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);
    this.alb = new Lb(this, 'alb', {
      name: `${props.namePrefix}-alb`.slice(0, 32),
      internal: false,
      loadBalancerType: 'application',
      securityGroups: [props.securityGroupId],
      subnets: props.publicSubnetIds,
      dropInvalidHeaderFields: true,
      desyncMitigationMode: 'defensive',
      idleTimeout: props.idleTimeoutSeconds ?? ALB_IDLE_TIMEOUT_SECONDS,
      enableDeletionProtection: props.deletionProtection ?? true,
      enableHttp2: true,
      accessLogs: { bucket: props.accessLogs.bucket.id, prefix: props.accessLogs.prefix, enabled: true },
      dependsOn: [props.accessLogs.policy],
    });
    this.targetGroup = new LbTargetGroup(this, 'api', {
      name: `${props.namePrefix}-api`.slice(0, 32),
      port: API_PORT,
      protocol: 'HTTP',
      targetType: 'instance',
      vpcId: props.vpcId,
      deregistrationDelay: '30',
      // WebSockets need no affinity: every instance receives every message through Redis pub/sub.
      stickiness: { type: 'lb_cookie', enabled: false },
      healthCheck: {
        path: props.healthCheckPath ?? '/health',
        port: 'traffic-port',
        protocol: 'HTTP',
        matcher: '200',
        interval: 15,
        timeout: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
    });
    if (props.domain) {
      this.certificate = this.tlsListeners(props.domain);
    } else {
      const http = this.listener('http', HTTP_PORT, { type: 'forward', targetGroupArn: this.targetGroup.arn });
      this.forwardingListeners.push(http);
      suppressPolicy(
        http,
        'alb-http-redirect',
        'No domain configured, so no ACM certificate can exist: the ALB serves HTTP until one is set',
      );
      Annotations.of(this).addWarning(
        'No domain configured: the ALB listens on HTTP only. Set `domain` in the environment for HTTPS.',
      );
    }
  }

  get dnsName(): string {
    return this.alb.dnsName;
  }

  private tlsListeners(domain: DomainConfig): AcmCertificate {
    const certificate = new AcmCertificate(this, 'certificate', {
      domainName: domain.name,
      validationMethod: 'DNS',
      lifecycle: { createBeforeDestroy: true },
    });
    const options = TerraformIterator.fromComplexList(certificate.domainValidationOptions, 'domain_name');
    const records = new Route53Record(this, 'certificate-validation', {
      forEach: options,
      zoneId: domain.hostedZoneId,
      name: options.getString('resource_record_name'),
      type: options.getString('resource_record_type'),
      records: [options.getString('resource_record_value')],
      ttl: 60,
      allowOverwrite: true,
    });
    const validation = new AcmCertificateValidation(this, 'certificate-validated', {
      certificateArn: certificate.arn,
      validationRecordFqdns: Token.asList(`\${[for record in ${records.fqn} : record.fqdn]}`),
    });
    new Route53Record(this, 'alias', {
      zoneId: domain.hostedZoneId,
      name: domain.name,
      type: 'A',
      alias: { name: this.alb.dnsName, zoneId: this.alb.zoneId, evaluateTargetHealth: true },
    });
    const https = this.listener(
      'https',
      HTTPS_PORT,
      { type: 'forward', targetGroupArn: this.targetGroup.arn },
      validation.certificateArn,
    );
    this.forwardingListeners.push(https);
    // Unreachable from the internet (the security group admits CloudFront on 443 only); kept so a stray HTTP
    // request inside the VPC is redirected rather than served.
    this.listener('http', HTTP_PORT, {
      type: 'redirect',
      redirect: { protocol: 'HTTPS', port: String(HTTPS_PORT), statusCode: 'HTTP_301' },
    });
    return certificate;
  }

  private listener(id: string, port: number, action: LbListenerDefaultAction, certificateArn?: string): LbListener {
    const listener = new LbListener(this, id, {
      loadBalancerArn: this.alb.arn,
      port,
      protocol: certificateArn ? 'HTTPS' : 'HTTP',
      sslPolicy: certificateArn ? TLS_POLICY : undefined,
      certificateArn,
      defaultAction: [action],
    });
    this.listeners.push(listener);
    return listener;
  }
}
