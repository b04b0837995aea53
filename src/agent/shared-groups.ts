// The agent's view of shared address groups: one watch over AddressGroup objects feeding live member
// sets that classifiers consult (like an ipset). One per process: a fleet of simulated agents shares
// it the way one hypervisor's agent would hold it once.
import { addressGroupShard, type AddressGroupShard } from '../api';
import { SharedGroupSets } from '../dataplane/shared-groups';
import { kindResource, type KubeClient } from '../runtime/client';
import type { Clock } from '../runtime/clock';
import { Informer } from '../runtime/informer';
import type { Logger } from '../util/log';

export class SharedGroupWatch {
  readonly sets = new SharedGroupSets();
  private readonly informer: Informer<AddressGroupShard>;
  private users = 0;
  readonly stats = { shardUpdates: 0 };

  constructor(opts: { client: KubeClient; logger: Logger; clock?: Clock }) {
    this.informer = new Informer<AddressGroupShard>({
      client: opts.client,
      resource: kindResource('AddressGroup'),
      schema: addressGroupShard as never,
      logger: opts.logger,
      clock: opts.clock,
      name: 'addressgroups',
    });
    const put = (o: AddressGroupShard) => {
      if (this.sets.put(o.metadata.name, o.spec) !== undefined) this.stats.shardUpdates++;
    };
    this.informer.on({ add: put, update: (_a, b) => put(b), delete: (o) => void this.sets.put(o.metadata.name, null) });
  }

  /** Whether the initial list has arrived (before it, shared groups would look empty). */
  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  waitForSync(timeoutMs: number): Promise<boolean> {
    return this.informer.waitForSync(timeoutMs);
  }

  /** Reference-counted: the watch runs while some agent uses it. */
  acquire(): this {
    if (this.users++ === 0) this.informer.start();
    return this;
  }

  async release(): Promise<void> {
    if (--this.users === 0) await this.informer.stop();
  }
}
