import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** The signed prekey half of one device's public key bundle (X3DH-style). All values are public keys, base64. */
@Entity({ name: 'key_bundles' })
export class KeyBundleEntity {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @PrimaryColumn({ name: 'device_id', type: 'integer', default: 1 })
  deviceId: number;

  @Column({ name: 'signed_prekey_id', type: 'integer' })
  signedPreKeyId: number;

  @Column({ name: 'signed_prekey', type: 'text' })
  signedPreKey: string;

  @Column({ name: 'signed_prekey_signature', type: 'text' })
  signedPreKeySignature: string;

  /** Handed out when no one-time prekey is left; never consumed. */
  @Column({ name: 'last_resort_key_id', type: 'integer', nullable: true })
  lastResortKeyId: number | null;

  @Column({ name: 'last_resort_key', type: 'text', nullable: true })
  lastResortKey: string | null;

  @Column({ name: 'last_resort_key_signature', type: 'text', nullable: true })
  lastResortKeySignature: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
