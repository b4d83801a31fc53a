import type { Api } from './api';

/** What every view is given: the API, the page's style nonce, and a way to open another view. */
export interface Ctx {
  api: Api;
  nonce: string;
  go(view: string, params?: Record<string, string>): void;
}

/** A view is built once; the router shows one at a time and tells it when. */
export interface View {
  readonly id: string;
  readonly title: string;
  readonly adminOnly?: boolean;
  readonly el: HTMLElement;
  activate(params: URLSearchParams): void;
  deactivate(): void;
}
