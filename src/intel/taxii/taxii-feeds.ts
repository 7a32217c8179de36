import { type Clock, describeError, type Logger, RiposteError, systemClock } from '../../core/index.ts';
import type { Store } from '../../store/index.ts';
import type { IndicatorStore } from '../indicators/index.ts';
import type { TlpLevel } from '../stix/index.ts';
import { type TaxiiAuth, TaxiiClient, type TaxiiHttp } from './taxii-client.ts';

/**
 * Scheduled TAXII feeds: each pull asks the feed's collection for objects added after the last pull's
 * X-TAXII-Date-Added-Last, pages through them and ingests every page into the indicator store (local
 * collection `feed:<name>`) with the feed's confidence and TLP as defaults. The resume point is saved
 * after every page, so a pull interrupted half-way resumes where it stopped, not from the beginning.
 */
export interface TaxiiFeedConfig {
  name: string;
  /** API root URL. */
  url: string;
  collection: string;
  auth?: { type: 'basic' | 'bearer'; user?: string; secret_env: string };
  interval: number;
  confidence?: number;
  tlp?: TlpLevel;
  page_size: number;
}

export interface TaxiiFeedState {
  added_after?: string;
  last_run_at?: string;
  last_error?: string | null;
  /** Objects stored by the last pull. */
  last_added?: number;
  total_added?: number;
}

export interface FeedPullResult {
  feed: string;
  pages: number;
  received: number;
  added: number;
  indexed: number;
  addedAfter: string | undefined;
}

export const feedStateKey = (name: string) => `intel.feed.${name}`;
export const feedCollection = (name: string) => `feed:${name}`;

export interface TaxiiFeedsOptions {
  feeds: readonly TaxiiFeedConfig[];
  store: Store;
  indicators: IndicatorStore;
  http: TaxiiHttp;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  logger?: Logger;
}

export class TaxiiFeeds {
  readonly #options: TaxiiFeedsOptions;
  readonly #clock: Clock;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #running = new Map<string, Promise<FeedPullResult>>();
  #stopped = false;

  constructor(options: TaxiiFeedsOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  get names(): string[] {
    return this.#options.feeds.map((f) => f.name);
  }

  #feed(name: string): TaxiiFeedConfig {
    const feed = this.#options.feeds.find((f) => f.name === name);
    if (!feed) throw new RiposteError('intel.feed_unknown', `no feed named ${JSON.stringify(name)} in intel.feeds`, { status: 404 });
    return feed;
  }

  #auth(feed: TaxiiFeedConfig): TaxiiAuth | undefined {
    if (!feed.auth) return undefined;
    const secret = (this.#options.env ?? process.env)[feed.auth.secret_env];
    if (secret === undefined || secret === '')
      throw new RiposteError('intel.feed_secret_missing', `feed ${feed.name}: environment variable ${feed.auth.secret_env} (auth.secret_env) is not set`);
    if (feed.auth.type === 'bearer') return { type: 'bearer', token: secret };
    if (!feed.auth.user) throw new RiposteError('intel.feed_secret_missing', `feed ${feed.name}: auth.user is required for basic auth`);
    return { type: 'basic', user: feed.auth.user, password: secret };
  }

  async state(name: string): Promise<TaxiiFeedState> {
    return (await this.#options.store.settings.get<TaxiiFeedState>(feedStateKey(name))) ?? {};
  }

  /** Pulls one feed now (a pull already running for it is joined, not doubled). */
  pull(name: string): Promise<FeedPullResult> {
    const running = this.#running.get(name);
    if (running) return running;
    const pull = this.#pull(this.#feed(name)).finally(() => this.#running.delete(name));
    this.#running.set(name, pull);
    return pull;
  }

  async #pull(feed: TaxiiFeedConfig): Promise<FeedPullResult> {
    const { store, indicators, http, logger } = this.#options;
    const key = feedStateKey(feed.name);
    const state = await this.state(feed.name);
    const result: FeedPullResult = { feed: feed.name, pages: 0, received: 0, added: 0, indexed: 0, addedAfter: state.added_after };
    try {
      const auth = this.#auth(feed);
      const client = new TaxiiClient({ http, ...(auth ? { auth } : {}) });
      const filters = { limit: feed.page_size, ...(state.added_after ? { addedAfter: state.added_after } : {}) };
      for await (const page of client.objectPages(feed.url, feed.collection, filters)) {
        const objects = page.body.objects ?? [];
        result.pages++;
        result.received += objects.length;
        const ingested = await indicators.ingest(feedCollection(feed.name), objects, {
          ...(feed.confidence === undefined ? {} : { confidence: feed.confidence }),
          ...(feed.tlp === undefined ? {} : { tlp: feed.tlp }),
        });
        result.added += ingested.added;
        result.indexed += ingested.indexed;
        if (page.dateAddedLast) result.addedAfter = page.dateAddedLast;
        await store.settings.set(key, { ...state, added_after: result.addedAfter, last_run_at: new Date(this.#clock.now()).toISOString(), last_error: null });
        if (this.#stopped) break;
      }
      await store.settings.set(key, {
        ...state,
        ...(result.addedAfter ? { added_after: result.addedAfter } : {}),
        last_run_at: new Date(this.#clock.now()).toISOString(),
        last_error: null,
        last_added: result.added,
        total_added: (state.total_added ?? 0) + result.added,
      } satisfies TaxiiFeedState);
      logger?.info({ feed: feed.name, pages: result.pages, added: result.added }, 'TAXII feed pulled');
      return result;
    } catch (error) {
      await store.settings.set(key, {
        ...state,
        ...(result.addedAfter ? { added_after: result.addedAfter } : {}),
        last_run_at: new Date(this.#clock.now()).toISOString(),
        last_error: describeError(error),
      });
      logger?.warn({ feed: feed.name, err: describeError(error) }, 'TAXII feed pull failed');
      throw error;
    }
  }

  /** Pulls every feed now and then every `interval`; failures are logged and retried at the next interval. */
  start(): void {
    this.#stopped = false;
    for (const feed of this.#options.feeds) {
      const tick = () => {
        if (this.#stopped) return;
        this.pull(feed.name)
          .catch(() => {})
          .finally(() => {
            if (this.#stopped) return;
            const timer = setTimeout(tick, feed.interval);
            timer.unref();
            this.#timers.set(feed.name, timer);
          });
      };
      tick();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#running.values()]);
  }
}
