import { Controller, Get, Injectable, NotFoundException } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import { ASYNCAPI_DOCUMENT } from '../../common/contracts/realtime-asyncapi';
import { Public } from '../auth/auth.decorators';
import { ApiErrors, ApiSummary } from '../http/api-docs';

/** The OpenAPI document, built from the controllers once the app exists (createServerApp sets it). */
@Injectable()
export class ContractDocuments {
  openApi: OpenAPIObject | undefined;
}

/** The published contracts client teams build against: HTTP (OpenAPI 3) and the WebSocket (AsyncAPI 3). */
@ApiTags('contract')
@Public()
@Controller('v1')
export class ContractController {
  constructor(private readonly documents: ContractDocuments) {}

  @Get('openapi.json')
  @ApiSummary('getOpenApiDocument', 'This OpenAPI document', 'The HTTP contract of this API (OpenAPI 3).')
  @ApiResponse({ status: 200, description: 'The document', schema: { type: 'object' } })
  @ApiErrors(429)
  openApi(): OpenAPIObject {
    if (!this.documents.openApi) throw new NotFoundException('the OpenAPI document is not built yet');
    return this.documents.openApi;
  }

  @Get('asyncapi.json')
  @ApiSummary(
    'getAsyncApiDocument',
    'The WebSocket protocol (AsyncAPI 3)',
    'Every frame the server sends on /v1/ws and every frame a client may send, with its JSON Schema.',
  )
  @ApiResponse({ status: 200, description: 'The document', schema: { type: 'object' } })
  @ApiErrors(429)
  asyncApi(): object {
    return ASYNCAPI_DOCUMENT;
  }
}
