import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { KeysController } from './keys.controller';
import { KeysRepository } from './keys.repository';
import { KeysService } from './keys.service';

@Module({
  imports: [AuthModule],
  controllers: [KeysController],
  providers: [KeysService, KeysRepository],
})
export class KeysModule {}
