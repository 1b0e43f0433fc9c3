import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export const ASYNCAPI_PATH = '/v1/asyncapi.json';

const TAGS: Record<string, string> = {
  auth: 'Accounts, logins and sessions. Access tokens are JWTs sent as `Authorization: Bearer <token>`.',
  users: 'Profiles and passwords.',
  keys: 'Identity keys and prekey bundles (X3DH): what a client needs to start an encrypted session.',
  conversations: 'Conversations the caller is a member of.',
  messages: 'Ciphertext messages in a conversation, and read receipts.',
  health: 'Load balancer checks.',
  contract: 'This document, and the AsyncAPI document of the WebSocket protocol at /v1/ws.',
};

/**
 * The v1 HTTP contract, built from the controllers' decorators and served at /v1/openapi.json. Every operation needs
 * the bearer token unless it says `security: []` (@Public() does). server/http/openapi.spec.ts lints it.
 */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Cyphr messenger API')
    .setDescription(
      [
        'End-to-end encrypted messaging: the server stores and relays ciphertext only.',
        '',
        'Every error answer is `{statusCode, error, message}` (the `ErrorBodyDto` schema). Rate-limited answers (429) carry `Retry-After`.',
        `Live events travel on the WebSocket at \`/v1/ws\`; its frames, both directions, are described by the AsyncAPI 3 document at \`${ASYNCAPI_PATH}\`.`,
      ].join('\n'),
    )
    .setVersion('1')
    .setLicense('Apache-2.0', 'https://www.apache.org/licenses/LICENSE-2.0')
    .addServer('/', 'The host this document was fetched from')
    .addBearerAuth()
    .addSecurityRequirements('bearer');
  for (const [name, description] of Object.entries(TAGS)) builder.addTag(name, description);
  return SwaggerModule.createDocument(app, builder.build());
}
