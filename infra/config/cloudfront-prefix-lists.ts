// CloudFront's origin-facing managed prefix list (`com.amazonaws.global.cloudfront.origin-facing`) has a
// different id in every region. Plans are offline, so the id comes from here (or the environment's
// `edge.originPrefixListId`) instead of an aws_ec2_managed_prefix_list lookup. Check a region with:
//   aws ec2 describe-managed-prefix-lists --region <region> \
//     --filters Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing
// A wrong id fails the apply (the security group rule names a list that does not exist), never opens more.
export const CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS: Record<string, string> = {
  'ap-northeast-1': 'pl-58a04531',
  'ap-northeast-2': 'pl-22a6434b',
  'ap-south-1': 'pl-9aa247f3',
  'ap-southeast-1': 'pl-31a34658',
  'ap-southeast-2': 'pl-b8a742d1',
  'ca-central-1': 'pl-38a64351',
  'eu-central-1': 'pl-a3a144ca',
  'eu-north-1': 'pl-fab65393',
  'eu-west-1': 'pl-4fa04526',
  'eu-west-2': 'pl-93a247fa',
  'eu-west-3': 'pl-75b1541c',
  'sa-east-1': 'pl-5da64334',
  'us-east-1': 'pl-3b927c52',
  'us-east-2': 'pl-b6a144df',
  'us-west-1': 'pl-4ea04527',
  'us-west-2': 'pl-82a045eb',
};

/** The id for an environment: its own setting, else the table's entry for its region. */
export function cloudFrontPrefixListId(region: string, override?: string): string | undefined {
  return override ?? CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS[region];
}
