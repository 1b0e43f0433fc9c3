import { PRICES } from './prices-us-east-1';
import { CostLine, gb, PricingInput, retentionDays } from './pricing';
import { all } from './stack-json';
import { monthlyVolumes } from './usage';

/** CloudFront and WAF: hourly-free, priced by requests and GB, plus WAF's ACL and rules. */
export function edgeLines({ resources, users, usage }: PricingInput): CostLine[] {
  const volumes = monthlyVolumes(users, usage);
  const lines: CostLine[] = [];
  const millions = volumes.requests / 1e6;
  for (const [, distribution] of all(resources, 'aws_cloudfront_distribution')) {
    lines.push({
      category: 'CloudFront',
      item: `data out (${distribution.price_class ?? 'PriceClass_All'})`,
      quantity: `${Math.round(volumes.cloudfrontGb)} GB`,
      monthly: volumes.cloudfrontGb * PRICES.cloudfront.perGbOutNaEu,
      basis: 'usage',
    });
    lines.push({
      category: 'CloudFront',
      item: 'HTTPS requests',
      quantity: `${millions.toFixed(1)} M`,
      monthly: (volumes.requests / 10_000) * PRICES.cloudfront.per10kHttpsRequests,
      basis: 'usage',
    });
  }
  for (const [name, acl] of all(resources, 'aws_wafv2_web_acl')) {
    const rules = (acl.rule ?? []).length;
    lines.push({
      category: 'WAF',
      item: `web ACL + ${rules} rules (${(acl.rule ?? []).map((rule: { name: string }) => rule.name).join(', ')})`,
      quantity: `1 ACL, ${rules} rules`,
      monthly: PRICES.waf.webAclMonthly + rules * PRICES.waf.ruleMonthly,
      basis: 'synthesized',
    });
    lines.push({
      category: 'WAF',
      item: 'requests inspected',
      quantity: `${millions.toFixed(1)} M`,
      monthly: millions * PRICES.waf.perMillionRequests,
      basis: 'usage',
    });
    const logging = all(resources, 'aws_wafv2_web_acl_logging_configuration').find(([, config]) =>
      String(config.resource_arn).includes(name),
    );
    if (logging) {
      // A filter that drops by default keeps only what WAF blocked or counted.
      const filter = logging[1].logging_filter as { default_behavior?: string } | undefined;
      const filtered = filter?.default_behavior === 'DROP';
      const share = filtered ? usage.wafLoggedShare : 1;
      const logGb = gb(volumes.requests * share * usage.wafLogBytesPerRequest);
      lines.push({
        category: 'CloudWatch',
        item: filtered ? `WAF logs (blocked or counted: ${share * 100} % of requests)` : 'WAF logs (every request)',
        quantity: `${logGb.toFixed(1)} GB ingested`,
        monthly: logGb * PRICES.cloudwatch.logsIngestPerGb,
        basis: 'usage',
        logs: { ingestGb: logGb, retentionDays: retentionDays(resources, 'waf') },
      });
    }
  }
  return lines;
}
