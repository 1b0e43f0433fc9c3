import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import type { ReplicationMode } from 'typeorm/driver/types/ReplicationMode';

export interface QueryOutcome<Row> {
  rows: Row[];
  /** Rows changed by INSERT/UPDATE/DELETE. */
  affected: number;
}

/** Runs SQL on a chosen side of the replication pair, or inside one transaction on the primary. */
export type Query = <Row = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<QueryOutcome<Row>>;

/**
 * The database, with the primary/replica choice made explicit at every call site:
 * - `primary`: writes, and reads that must see a write just made (read-your-own-write);
 * - `replica`: history and profiles; TypeORM picks a slave of `replication` (the primary when none).
 */
@Injectable()
export class DatabaseService {
  constructor(@InjectDataSource() readonly dataSource: DataSource) {}

  private readonly logger = new Logger(DatabaseService.name);

  readonly primary: Query = (sql, params) => this.run('master', sql, params);

  /**
   * A replica; when no replica can be reached (not when the SQL fails) the primary answers instead:
   * slower and busier, but a replica outage does not take history down.
   */
  readonly replica: Query = async (sql, params) => {
    try {
      return await this.run('slave', sql, params);
    } catch (error) {
      if (error instanceof QueryFailedError) throw error;
      this.logger.warn(`replica unavailable, reading from the primary: ${(error as Error).message}`);
      return this.run('master', sql, params);
    }
  };

  /** A replica and nothing else (readiness checks). */
  readonly replicaOnly: Query = (sql, params) => this.run('slave', sql, params);

  /** One transaction on the primary; rolled back when `work` throws. */
  transaction<T>(work: (query: Query) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((manager: EntityManager) =>
      work(async (sql, params) => {
        const result = await manager.queryRunner!.query(sql, params as unknown[], true);
        return { rows: result.records ?? [], affected: result.affected ?? 0 };
      }),
    );
  }

  private async run<Row>(mode: ReplicationMode, sql: string, params?: unknown[]): Promise<QueryOutcome<Row>> {
    const runner = this.dataSource.createQueryRunner(mode);
    try {
      const result = await runner.query(sql, params, true);
      return { rows: (result.records ?? []) as Row[], affected: result.affected ?? 0 };
    } finally {
      await runner.release();
    }
  }
}
