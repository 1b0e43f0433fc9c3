// The AMI both fleets run: the bundle uploaded to the artifacts bucket, baked onto Amazon Linux 2023 by
// EC2 Image Builder (component -> recipe -> infrastructure + distribution configuration -> image).
// A new bundle gives a new component and recipe version, so a new image and AMI id; the launch
// templates take a new version and the groups' instance refresh rolls the fleets.
import { Construct } from 'constructs';
import { Annotations, AssetType, type ITerraformDependable, TerraformAsset, TerraformResource } from 'cdktf';
import { S3Object } from '@cdktf/provider-aws/lib/s3-object';
import { ImagebuilderComponent } from '@cdktf/provider-aws/lib/imagebuilder-component';
import { ImagebuilderImageRecipe } from '@cdktf/provider-aws/lib/imagebuilder-image-recipe';
import { ImagebuilderInfrastructureConfiguration } from '@cdktf/provider-aws/lib/imagebuilder-infrastructure-configuration';
import { ImagebuilderDistributionConfiguration } from '@cdktf/provider-aws/lib/imagebuilder-distribution-configuration';
import { ImagebuilderImage } from '@cdktf/provider-aws/lib/imagebuilder-image';
import { ArtifactsBucket } from './artifacts';
import { isMissing, type Bundle, type MissingBundle } from './bundle';
import { Connections } from './connections';
import { partitionOf, ServiceRole } from './iam';
import { amiSafe, buildVersion, componentDocument } from './image-component';
import { encryptedLogGroup, type LogGroupSettings } from './logs';
import { HTTPS_PORT } from './security';

export interface ImageProps {
  /** Prefix of every name, e.g. cyphr-staging; also the recipe (image) name. */
  namePrefix: string;
  accountId: string;
  region: string;
  /** Image Builder parent image ARN (Amazon Linux 2023, x86_64), e.g. .../amazon-linux-2023-x86/x.x.x. */
  parentImageArn: string;
  /** The bundle from `npm run package`, or why there is none (synth warns; apply stops at the upload). */
  bundle: Bundle | MissingBundle;
  /** package.json version (names a missing bundle and seeds the Image Builder versions). */
  packageVersion: string;
  /** Node.js major installed from AL2023's packages. @default 22 */
  nodeMajor?: number;
  /** Build and test instance type (x86_64, like the parent image). @default t3.small */
  buildInstanceType?: string;
  /** Root volume of the AMI; the launch templates' volume must be at least this big. */
  rootVolumeGb: number;
  /** @default /dev/xvda (Amazon Linux) */
  rootDeviceName?: string;
  vpcId: string;
  /** A private (app) subnet for build and test instances: no public IP, egress through NAT. */
  subnetId: string;
  /** Interface endpoints' group: the build reaches SSM through them. */
  endpoints: Connections;
  /**
   * The build's way out: the subnet's route through NAT (and its association) and the VPC endpoints. The
   * build instance starts as soon as the image resource is created and fails if its network is not there yet.
   */
  networkPath: ITerraformDependable[];
  /** Environment whose log groups and metrics namespace the CloudWatch agent in the image writes to. */
  environment: string;
  /** Data key (artifacts bucket, build logs). */
  kmsKeyArn: string;
  logs: LogGroupSettings;
  /** Let `terraform destroy` empty the artifacts bucket. @default false */
  forceDestroy?: boolean;
}

export const BUNDLE_PREFIX = 'bundles/';
/** The Node.js major an image installs unless the environment says otherwise (the boot test runs the bundle on it). */
export const DEFAULT_NODE_MAJOR = 22;
/**
 * How long Terraform waits for the image (build, then tests). The CI deploy role's session must outlast it
 * plus the rest of an apply (a policy rule checks: apply-rules.ts).
 */
export const IMAGE_BUILD_TIMEOUT_MINUTES = 90;
/** Image Builder's own limit on the test phase, within the build timeout. */
const IMAGE_TESTS_TIMEOUT_MINUTES = 60;
const warnedMissing = new Set<string>();

export class Image extends Construct {
  readonly artifacts: ArtifactsBucket;
  readonly bundleObject: S3Object;
  readonly role: ServiceRole;
  readonly builder: Connections;
  readonly component: ImagebuilderComponent;
  readonly recipe: ImagebuilderImageRecipe;
  readonly infrastructure: ImagebuilderInfrastructureConfiguration;
  readonly distribution: ImagebuilderDistributionConfiguration;
  readonly image: ImagebuilderImage;
  /** Image Builder version of this build (component and recipe). */
  readonly version: string;
  readonly bundleVersion: string;

  constructor(scope: Construct, id: string, props: ImageProps) {
    super(scope, id);
    const { namePrefix } = props;
    const nodeMajor = props.nodeMajor ?? DEFAULT_NODE_MAJOR;
    const bucketName = `${namePrefix}-artifacts-${props.accountId}`;
    this.artifacts = new ArtifactsBucket(this, 'artifacts', {
      bucketName,
      kmsKeyArn: props.kmsKeyArn,
      forceDestroy: props.forceDestroy,
    });
    const bundle = this.bundleDetails(props);
    this.bundleVersion = bundle.version;
    const key = `${BUNDLE_PREFIX}${bundle.fileName}`;
    this.bundleObject = new S3Object(this, 'bundle', {
      bucket: this.artifacts.bucket.id,
      key,
      source: bundle.source,
      // The archive's sha256 (from its .sha256 file): new bytes, new upload. No etag: SSE-KMS etags are not MD5s.
      sourceHash: bundle.sha256,
      contentType: 'application/gzip',
      serverSideEncryption: 'aws:kms',
      kmsKeyId: props.kmsKeyArn,
      bucketKeyEnabled: true,
      tags: { Version: bundle.version, Sha256: bundle.sha256 },
      dependsOn: [this.artifacts.policy],
    });

    const document = componentDocument({
      bucket: bucketName,
      key,
      accountId: props.accountId,
      fileName: bundle.fileName,
      version: bundle.version,
      sha256: bundle.sha256,
      nodeMajor,
      cloudWatchAgent: { environment: props.environment },
    });
    const rootVolume = {
      deviceName: props.rootDeviceName ?? '/dev/xvda',
      // The account's EBS key, as the launch templates use (see compute.ts): no key policy to extend.
      ebs: { volumeSize: props.rootVolumeGb, volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true' },
    };
    this.version = buildVersion(props.packageVersion, document, props.parentImageArn, JSON.stringify(rootVolume));
    const description = `Cyphr ${bundle.version} on Node.js ${nodeMajor}`;

    this.component = new ImagebuilderComponent(this, 'component', {
      name: `${namePrefix}-bundle`,
      version: this.version,
      platform: 'Linux',
      supportedOsVersions: ['Amazon Linux 2023'],
      description,
      changeDescription: `bundle ${bundle.version} (sha256 ${bundle.sha256})`,
      data: document,
      dependsOn: [this.bundleObject],
      // Versions are immutable: the next one exists before this one goes.
      lifecycle: { createBeforeDestroy: true },
    });
    this.recipe = new ImagebuilderImageRecipe(this, 'recipe', {
      name: namePrefix,
      version: this.version,
      description,
      parentImage: props.parentImageArn,
      component: [{ componentArn: this.component.arn }],
      blockDeviceMapping: [rootVolume],
      // The fleets use Session Manager: keep the agent.
      systemsManagerAgent: { uninstallAfterBuild: false },
      lifecycle: { createBeforeDestroy: true },
    });

    // Image Builder writes build logs to /aws/imagebuilder/<image name> (= recipe name): made here, encrypted, with retention.
    const logGroup = encryptedLogGroup(this, 'build-logs', `/aws/imagebuilder/${namePrefix}`, props.logs);
    this.role = new ServiceRole(this, 'instance-role', {
      name: `${namePrefix}-image-builder`,
      servicePrincipal: 'ec2.amazonaws.com',
      description: 'EC2 Image Builder build and test instances of the Cyphr AMI',
      instanceProfile: true,
    });
    this.grantBuild(props, logGroup.arn);
    this.builder = new Connections(this, 'builder', {
      vpcId: props.vpcId,
      name: `${namePrefix}-image-builder`,
      description: 'Cyphr AMI build and test instances: HTTPS out only',
    });
    this.allowTraffic(props.endpoints);

    this.infrastructure = new ImagebuilderInfrastructureConfiguration(this, 'infrastructure', {
      name: `${namePrefix}-image-builder`,
      description: 'Private subnet, HTTPS egress only, IMDSv2, terminated on failure',
      instanceProfileName: this.role.instanceProfile!.name,
      instanceTypes: [props.buildInstanceType ?? 't3.small'],
      subnetId: props.subnetId,
      securityGroupIds: [this.builder.securityGroupId],
      terminateInstanceOnFailure: true,
      instanceMetadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 },
      resourceTags: { Name: `${namePrefix}-image-builder` },
    });
    this.distribution = new ImagebuilderDistributionConfiguration(this, 'distribution', {
      name: namePrefix,
      description: 'Cyphr AMI in the stack region',
      distribution: [
        {
          region: props.region,
          amiDistributionConfiguration: {
            name: `${namePrefix}-${amiSafe(bundle.version)}-{{ imagebuilder:buildDate }}`,
            description,
            amiTags: { Name: namePrefix, BundleVersion: bundle.version, BundleSha256: bundle.sha256 },
          },
        },
      ],
    });
    this.image = new ImagebuilderImage(this, 'image', {
      imageRecipeArn: this.recipe.arn,
      infrastructureConfigurationArn: this.infrastructure.arn,
      distributionConfigurationArn: this.distribution.arn,
      enhancedImageMetadataEnabled: true,
      imageTestsConfiguration: { imageTestsEnabled: true, timeoutMinutes: IMAGE_TESTS_TIMEOUT_MINUTES },
      timeouts: { create: `${IMAGE_BUILD_TIMEOUT_MINUTES}m` },
      tags: { Name: namePrefix, BundleVersion: bundle.version },
      // The build needs its log group, the instance role's permissions and its network path in place.
      dependsOn: [
        logGroup,
        ...this.role.node.findAll().filter(TerraformResource.isTerraformResource),
        ...props.networkPath,
      ],
      lifecycle: { createBeforeDestroy: true },
    });
  }

  /** The AMI id the launch templates use (known after the build). */
  get amiId(): string {
    return this.image.outputResources.get(0).amis.get(0).image;
  }

  private bundleDetails(props: ImageProps): { source: string; fileName: string; version: string; sha256: string } {
    const bundle = props.bundle;
    if (isMissing(bundle)) {
      const warning =
        `no Cyphr bundle: ${bundle.reason}. The image is synthesized with a placeholder; ` +
        '`terraform apply` fails at the bundle upload. Run `npm run package`, then synth again.';
      Annotations.of(this).addWarning(warning);
      // `npm run synth` (node build/main.js) does not print annotations as the cdktf CLI does: say it once.
      if (!warnedMissing.has(warning)) console.warn(`WARNING: ${warning}`);
      warnedMissing.add(warning);
      // A path that does not exist: plan works (the provider reads the file only on upload), apply stops there.
      const fileName = `cyphr-${props.packageVersion}+unbuilt.tar.gz`;
      return {
        source: `assets/no-bundle-run-npm-run-package-then-synth/${fileName}`,
        fileName,
        version: `${props.packageVersion}+unbuilt`,
        sha256: '0'.repeat(64),
      };
    }
    // Copied into the stack folder (assets/...), so the stack is self-contained wherever it is planned or applied.
    const asset = new TerraformAsset(this, 'bundle-asset', {
      path: bundle.path,
      type: AssetType.FILE,
      assetHash: bundle.sha256,
    });
    return { source: asset.path, fileName: bundle.fileName, version: bundle.version, sha256: bundle.sha256 };
  }

  /** Build and test instances: Session Manager (how Image Builder drives them), the bundles, their logs. */
  private grantBuild(props: ImageProps, logGroupArn: string): void {
    const partition = partitionOf(props.region);
    this.role.attachManagedPolicy('ssm-core', `arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`);
    this.role.addToPolicy({
      sid: 'ReadOwnComponent',
      actions: ['imagebuilder:GetComponent'],
      resources: [
        `arn:${partition}:imagebuilder:${props.region}:${props.accountId}:component/${props.namePrefix}-bundle/*`,
      ],
    });
    // AWSTOE (the component runner) is downloaded from Image Builder's own buckets.
    this.role.addToPolicy({
      sid: 'ReadImageBuilderTooling',
      actions: ['s3:GetObject'],
      resources: [`arn:${partition}:s3:::ec2imagebuilder*`],
    });
    this.artifacts.grantReadBundles(this.role, BUNDLE_PREFIX, props.region);
    this.role.addToPolicy({
      sid: 'WriteBuildLogs',
      // CreateLogGroup on this one name only: the group exists (made above); the agent asks anyway.
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroupArn, `${logGroupArn}:*`],
    });
  }

  /** HTTPS out (dnf repositories and AWSTOE over the S3 gateway, AWS APIs through NAT) and to the interface endpoints. */
  private allowTraffic(endpoints: Connections): void {
    endpoints.allowDefaultPortFrom(this.builder, 'image builds to AWS APIs (SSM) through interface endpoints');
    this.builder.allowToInternet(HTTPS_PORT, 'image builds to package repositories and AWS APIs, through NAT');
  }
}
