// The Cyphr bundle the image is baked from: `npm run package` writes dist/cyphr-<version>.tar.gz, its
// .sha256 and dist/LATEST (the archive's path, relative to the repository). Synth reads them here; no
// AWS call, no hashing of the archive (the .sha256 file is the bundle's own, written next to it).
import { existsSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { repositoryRoot } from '../../common/repository-root';

export interface Bundle {
  /** Absolute path of the archive. */
  path: string;
  /** cyphr-<version>.tar.gz */
  fileName: string;
  /** package.json version + build metadata, e.g. 0.1.0+93f09221083b. */
  version: string;
  /** Hex sha256 of the archive. */
  sha256: string;
}

/** A bundle that does not exist: synth works, `terraform apply` stops at the upload (see Image). */
export interface MissingBundle {
  missing: true;
  /** Why, for the synth warning. */
  reason: string;
}

const ARCHIVE = /^cyphr-(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)\.tar\.gz$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** Reads the archive named by `<root>/dist/LATEST` (or by $CYPHR_BUNDLE) and its .sha256. */
export function findBundle(
  root: string = repositoryRoot(),
  env: NodeJS.ProcessEnv = process.env,
): Bundle | MissingBundle {
  const latest = join(root, 'dist', 'LATEST');
  let named = env.CYPHR_BUNDLE?.trim();
  if (!named) {
    if (!existsSync(latest)) return { missing: true, reason: `${latest} does not exist (run \`npm run package\`)` };
    named = readFileSync(latest, 'utf8').trim();
  }
  return readBundle(isAbsolute(named) ? named : join(root, named));
}

/** Validates one archive and its `<archive>.sha256` (sha256sum format). */
export function readBundle(path: string): Bundle | MissingBundle {
  const fileName = basename(path);
  const version = ARCHIVE.exec(fileName)?.[1];
  if (!version) return { missing: true, reason: `${path} is not named cyphr-<version>.tar.gz` };
  if (!existsSync(path)) return { missing: true, reason: `${path} does not exist (run \`npm run package\`)` };
  const shaFile = `${path}.sha256`;
  if (!existsSync(shaFile)) return { missing: true, reason: `${shaFile} does not exist (run \`npm run package\`)` };
  const [sha256, named] = readFileSync(shaFile, 'utf8')
    .trim()
    .split(/\s+\*?/);
  if (!SHA256.test(sha256 ?? '') || (named !== undefined && basename(named) !== fileName))
    return { missing: true, reason: `${shaFile} does not hold the sha256 of ${fileName}` };
  return { path: resolve(path), fileName, version, sha256 };
}

/** package.json version of the repository (seeds Image Builder versions; names a missing bundle). */
export function packageVersion(root: string = repositoryRoot()): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

export function isMissing(bundle: Bundle | MissingBundle): bundle is MissingBundle {
  return 'missing' in bundle;
}
