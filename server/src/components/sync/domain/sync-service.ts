/** Pull, push and stream use cases of the sync component: role checks, retention check, then the data layer. */
import { AppError } from '../../../../../src/shared/errors.js';
import type { OperatorRole } from '../../../../../src/shared/operator-role.js';
import type { PushRow, SyncCollection, SyncDocMap } from '../../../../../src/shared/sync-protocol.js';
import type { Db } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/http/actor.js';
import { currentSeq, pullCollection, purgedThrough, type PullPage, type SyncTables } from '../data/collections.js';
import { canRead, type PushHandler } from './push.js';

export class SyncService {
  constructor(
    private readonly db: Db,
    private readonly pushHandler: PushHandler,
    private readonly tables: SyncTables,
    /** SYNC_HISTORY_DAYS: told to the desks with every pull of a collection that has a history horizon */
    private readonly historyDays: number,
  ) {}

  /** Closed documents of `collection` untouched this many days are not in the replica (undefined: all are). */
  historyDaysOf(collection: SyncCollection): number | undefined {
    return this.tables[collection].horizon ? this.historyDays : undefined;
  }

  assertRead(collection: SyncCollection, actor: Actor): void {
    if (!canRead(collection, actor.role))
      throw new AppError('forbidden_role', `role ${actor.role} may not read ${collection}`, { status: 403 });
  }

  /** 410 `checkpoint_too_old` when tombstones after `checkpoint` may have been purged (the client must resync from 0). */
  async assertCheckpoint(collection: SyncCollection, checkpoint: number): Promise<void> {
    if (checkpoint === 0) return;
    const purged = await purgedThrough(this.db, collection);
    if (checkpoint < purged) {
      throw new AppError(
        'checkpoint_too_old',
        `checkpoint ${checkpoint} is older than the tombstone retention (purged through ${purged}); resync ${collection} from checkpoint 0`,
        { status: 410 },
      );
    }
  }

  /**
   * `role` filters what the role may not see (notes about customers: see SYNC_ACCESS / canSeeCustomerData);
   * `floor`: the client started from nothing at this seq (PullPage.floor), older tombstones are not its concern.
   */
  async pull(
    collection: SyncCollection,
    checkpoint: number,
    limit: number,
    role: OperatorRole,
    floor = 0,
  ): Promise<PullPage<SyncDocMap[SyncCollection]>> {
    await this.assertCheckpoint(collection, checkpoint);
    return pullCollection(this.db, this.tables[collection], collection, checkpoint, limit, role, floor);
  }

  push(
    collection: SyncCollection,
    rows: Array<PushRow<SyncDocMap[SyncCollection]>>,
    actor: Actor,
  ): Promise<Array<SyncDocMap[SyncCollection]>> {
    return this.pushHandler.push(collection, rows, actor);
  }

  currentSeq(): Promise<number> {
    return currentSeq(this.db);
  }
}
