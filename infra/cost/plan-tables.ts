import type { TierName } from '../config/tiers';
import type { Category } from './pricing';

/**
 * The plan's own monthly cost tables (../shared/seed/README.md), item by item, mapped to our categories so
 * the report can put them side by side. Everything we price in a category the plan has no item for is
 * "left out by the plan".
 */
export interface PlanItem {
  label: string;
  monthly: number;
  categories: Category[];
}

export const PLAN_TABLES: Record<TierName, { total: number; items: PlanItem[] }> = {
  small: {
    total: 140,
    items: [
      { label: 'EC2 2× t3.small', monthly: 30, categories: ['EC2'] },
      { label: 'RDS db.t3.medium', monthly: 70, categories: ['RDS'] },
      { label: 'Redis cache.t3.micro', monthly: 15, categories: ['ElastiCache'] },
      { label: 'ALB', monthly: 25, categories: ['ALB'] },
    ],
  },
  medium: {
    total: 945,
    items: [
      { label: 'EC2 5× t3.medium', monthly: 200, categories: ['EC2'] },
      { label: 'RDS db.r5.large + 2 replicas', monthly: 500, categories: ['RDS'] },
      { label: 'Redis cache.m5.large', monthly: 150, categories: ['ElastiCache'] },
      { label: 'ALB', monthly: 25, categories: ['ALB'] },
      { label: 'CloudFront', monthly: 50, categories: ['CloudFront'] },
      { label: 'SQS', monthly: 20, categories: ['SQS'] },
    ],
  },
  large: {
    total: 5_300,
    items: [
      { label: 'EC2 20× c5.xlarge', monthly: 2_400, categories: ['EC2'] },
      { label: 'RDS db.r5.2xlarge + 4 replicas', monthly: 2_000, categories: ['RDS'] },
      { label: 'Redis cluster', monthly: 500, categories: ['ElastiCache'] },
      { label: 'load balancers', monthly: 100, categories: ['ALB'] },
      { label: 'CloudFront', monthly: 200, categories: ['CloudFront'] },
      { label: 'SQS/SNS', monthly: 100, categories: ['SQS'] },
    ],
  },
};

/** What the plan says it leaves out (its own words, translated). */
export const PLAN_OMISSIONS = 'NAT gateways, Multi-AZ pricing, storage, data transfer and logs';
