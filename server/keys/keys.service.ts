import { Injectable, NotFoundException } from '@nestjs/common';
import { UsersRepository } from '../users/users.repository';
import { KeyBundle, PreKeyCount, UploadKeysDto } from './keys.dto';
import { KeysRepository } from './keys.repository';

@Injectable()
export class KeysService {
  constructor(
    private readonly keys: KeysRepository,
    private readonly users: UsersRepository,
  ) {}

  async upload(userId: string, input: UploadKeysDto): Promise<PreKeyCount> {
    const count = await this.keys.upload(userId, input.identityKey, input.signedPreKey, input.oneTimePreKeys);
    if (input.identityKey) await this.users.invalidate(userId);
    return { oneTimePreKeyCount: count };
  }

  async count(userId: string): Promise<PreKeyCount> {
    return { oneTimePreKeyCount: await this.keys.countPreKeys(userId) };
  }

  async fetchBundle(userId: string): Promise<KeyBundle> {
    const bundle = await this.keys.takeBundle(userId);
    if (!bundle) throw new NotFoundException('user not found or has not published keys');
    return bundle;
  }
}
