import { RoundRobinQueue } from '@pixels/server/jobs/round-robin-queue.ts';
import { describe, expect, it } from 'vitest';

function drain(queue: RoundRobinQueue<string>): string[] {
  const taken: string[] = [];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) taken.push(item);
  return taken;
}

describe('RoundRobinQueue', () => {
  it('is empty at first', () => {
    const queue = new RoundRobinQueue<string>();
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeUndefined();
    expect(queue.order()).toEqual([]);
  });

  it('serves owners in turn, one item each, not first come first served', () => {
    const queue = new RoundRobinQueue<string>();
    for (const item of ['a1', 'a2', 'a3']) queue.push('a', item);
    queue.push('b', 'b1');
    queue.push('c', 'c1');
    queue.push('c', 'c2');
    expect(queue.sizeOf('a')).toBe(3);
    expect(queue.order()).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
    expect(drain(queue)).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
  });

  it('puts an owner who joins mid-round after everyone already waiting', () => {
    const queue = new RoundRobinQueue<string>();
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    queue.push('b', 'b1');
    queue.push('b', 'b2');
    expect(queue.shift()).toBe('a1');
    queue.push('c', 'c1');
    expect(queue.order()).toEqual(['b1', 'a2', 'c1', 'b2']);
    expect(drain(queue)).toEqual(['b1', 'a2', 'c1', 'b2']);
  });

  it('keeps the turn order when an item is removed', () => {
    const queue = new RoundRobinQueue<string>();
    queue.push('a', 'a1');
    queue.push('b', 'b1');
    queue.push('c', 'c1');
    queue.push('a', 'a2');
    expect(queue.remove('b1')).toBe(true);
    expect(queue.remove('b1')).toBe(false);
    expect(queue.size).toBe(3);
    expect(queue.sizeOf('b')).toBe(0);
    expect(drain(queue)).toEqual(['a1', 'c1', 'a2']);
  });

  it('removing the owner whose turn is next passes the turn on', () => {
    const queue = new RoundRobinQueue<string>();
    queue.push('a', 'a1');
    queue.push('b', 'b1');
    queue.push('c', 'c1');
    queue.push('a', 'a2');
    expect(queue.shift()).toBe('a1');
    queue.remove('b1');
    expect(queue.order()).toEqual(['c1', 'a2']);
    expect(drain(queue)).toEqual(['c1', 'a2']);
  });

  it('order() always predicts shift() under random operations', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const queue = new RoundRobinQueue<string>();
    let counter = 0;
    for (let round = 0; round < 500; round++) {
      const roll = random();
      if (roll < 0.5) queue.push(`o${Math.floor(random() * 4)}`, `i${counter++}`);
      else if (roll < 0.6) {
        const order = queue.order();
        if (order.length > 0) queue.remove(order[Math.floor(random() * order.length)]);
      } else {
        const predicted = queue.order()[0];
        expect(queue.shift()).toBe(predicted);
      }
      expect(queue.order().length).toBe(queue.size);
    }
  });
});
