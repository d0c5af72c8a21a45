/**
 * A queue that is fair between owners: each owner has its own first-in-first-out line, and the
 * lines take turns, one item per turn (round robin), so one user's burst of jobs cannot starve the
 * others. An owner who joins is served after every owner already waiting has had a turn.
 */
export class RoundRobinQueue<Item> {
  /** Owners with waiting items, in turn order; `turn` indexes the owner served next. */
  private readonly owners: string[] = [];
  private readonly lines = new Map<string, Item[]>();
  private turn = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Owners with items waiting. */
  get waitingOwners(): readonly string[] {
    return this.owners;
  }

  /** Items waiting for `owner`. */
  sizeOf(owner: string): number {
    return this.lines.get(owner)?.length ?? 0;
  }

  push(owner: string, item: Item): void {
    let line = this.lines.get(owner);
    if (!line) {
      line = [];
      this.lines.set(owner, line);
      // Insert just before the owner whose turn is next: the newcomer ends the current round.
      this.owners.splice(this.turn, 0, owner);
      this.turn = (this.turn + 1) % this.owners.length;
    }
    line.push(item);
    this.count++;
  }

  /** Puts an item back at the head of its owner's line, and that owner first in turn (a retried job). */
  pushFront(owner: string, item: Item): void {
    const line = this.lines.get(owner);
    if (line) {
      line.unshift(item);
      this.turn = this.owners.indexOf(owner);
    } else {
      this.lines.set(owner, [item]);
      this.owners.splice(this.turn, 0, owner);
    }
    this.count++;
  }

  /** Takes the next item in fair order, or undefined when empty. */
  shift(): Item | undefined {
    if (this.owners.length === 0) return undefined;
    const owner = this.owners[this.turn];
    const line = this.lines.get(owner)!;
    const item = line.shift()!;
    this.count--;
    if (line.length === 0) this.dropOwnerAt(this.turn);
    else this.turn = (this.turn + 1) % this.owners.length;
    return item;
  }

  /** Removes one item wherever it waits; false when it is not in the queue. */
  remove(item: Item): boolean {
    for (let index = 0; index < this.owners.length; index++) {
      const line = this.lines.get(this.owners[index])!;
      const at = line.indexOf(item);
      if (at < 0) continue;
      line.splice(at, 1);
      this.count--;
      if (line.length === 0) this.dropOwnerAt(index);
      return true;
    }
    return false;
  }

  /** Every waiting item in the order `shift` would return them (index 0 is next). */
  order(): Item[] {
    const result: Item[] = [];
    const rounds = Math.max(0, ...this.owners.map((owner) => this.lines.get(owner)!.length));
    for (let round = 0; round < rounds; round++) {
      for (let offset = 0; offset < this.owners.length; offset++) {
        const line = this.lines.get(this.owners[(this.turn + offset) % this.owners.length])!;
        if (round < line.length) result.push(line[round]);
      }
    }
    return result;
  }

  private dropOwnerAt(index: number): void {
    this.lines.delete(this.owners[index]);
    this.owners.splice(index, 1);
    if (index < this.turn) this.turn--;
    if (this.turn >= this.owners.length) this.turn = 0;
  }
}
