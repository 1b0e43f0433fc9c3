// Route 53 and ACM for the edge: a DNS-validated certificate (in the provider's region: us-east-1
// for CloudFront) and alias records. Zone ids come from config; nothing is looked up.
import { Construct } from 'constructs';
import { TerraformIterator, Token, type TerraformProvider } from 'cdktf';
import { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate';
import { AcmCertificateValidation } from '@cdktf/provider-aws/lib/acm-certificate-validation';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record';

export interface ValidatedCertificateProps {
  domainName: string;
  hostedZoneId: string;
  /** Region of the certificate (its consumer's region; us-east-1 for CloudFront). @default the stack's default provider */
  provider?: TerraformProvider;
}

/** An ACM certificate, its validation records, and the validation that waits for issuance. */
export class ValidatedCertificate extends Construct {
  readonly certificate: AcmCertificate;
  readonly validation: AcmCertificateValidation;

  constructor(scope: Construct, id: string, props: ValidatedCertificateProps) {
    super(scope, id);
    this.certificate = new AcmCertificate(this, 'certificate', {
      provider: props.provider,
      domainName: props.domainName,
      validationMethod: 'DNS',
      keyAlgorithm: 'EC_prime256v1',
      lifecycle: { createBeforeDestroy: true },
    });
    const options = TerraformIterator.fromComplexList(this.certificate.domainValidationOptions, 'domain_name');
    const records = new Route53Record(this, 'validation-record', {
      forEach: options,
      zoneId: props.hostedZoneId,
      name: options.getString('resource_record_name'),
      type: options.getString('resource_record_type'),
      records: [options.getString('resource_record_value')],
      ttl: 60,
      allowOverwrite: true,
    });
    this.validation = new AcmCertificateValidation(this, 'validation', {
      provider: props.provider,
      certificateArn: this.certificate.arn,
      validationRecordFqdns: Token.asList(`\${[for record in ${records.fqn} : record.fqdn]}`),
    });
  }

  /** ARN usable once the certificate is issued. */
  get arn(): string {
    return this.validation.certificateArn;
  }
}

export interface AliasTarget {
  dnsName: string;
  hostedZoneId: string;
}

/** A and AAAA alias records for `name` pointing at `target`. */
export function aliasRecords(
  scope: Construct,
  id: string,
  hostedZoneId: string,
  name: string,
  target: AliasTarget,
): Route53Record[] {
  return ['A', 'AAAA'].map(
    (type) =>
      new Route53Record(scope, `${id}-${type.toLowerCase()}`, {
        zoneId: hostedZoneId,
        name,
        type,
        alias: { name: target.dnsName, zoneId: target.hostedZoneId, evaluateTargetHealth: false },
      }),
  );
}
