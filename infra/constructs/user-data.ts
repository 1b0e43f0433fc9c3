// User data: writes the non-secret settings file and starts the role's systemd unit (the unit
// itself comes with the AMI). Secrets are referenced by ARN only; processes fetch them at start.

export type AppRole = 'api' | 'worker';

/** Environment of a role's process: endpoints, queue URLs, secret ARNs. Never a secret value. */
export type AppSettings = Record<string, string>;

const SAFE_VALUE = /^[^\n'"`\\$]*$/;

export function envFile(settings: AppSettings): string {
  return Object.entries(settings)
    .map(([key, value]) => {
      if (!/^[A-Z][A-Z0-9_]*$/.test(key)) throw new Error(`bad environment variable name ${key}`);
      // Tokens render as ${...} for Terraform to fill in; literal values must not need quoting.
      if (!value.includes('${') && !SAFE_VALUE.test(value)) throw new Error(`value of ${key} needs quoting: ${value}`);
      return `${key}=${value}`;
    })
    .join('\n');
}

/** A bash script; the caller base64-encodes it for the launch template. */
export function userDataScript(role: AppRole, settings: AppSettings): string {
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    'install -d -m 0755 /etc/cyphr',
    "cat > /etc/cyphr/cyphr.env <<'CYPHR_ENV'",
    envFile({ ...settings, CYPHR_ROLE: role }),
    'CYPHR_ENV',
    'chmod 0644 /etc/cyphr/cyphr.env',
    'systemctl daemon-reload',
    `systemctl enable --now cyphr-${role}.service`,
    '',
  ].join('\n');
}
