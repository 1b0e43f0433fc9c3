import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { UsernamesController } from './usernames.controller';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

@Module({
  imports: [AuthModule],
  controllers: [UsersController, UsernamesController],
  providers: [UsersService],
  exports: [UsersService],
})
export class UsersModule {}
