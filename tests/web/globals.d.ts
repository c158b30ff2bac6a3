// Browser globals the app reads that lib.dom.d.ts does not declare.

interface Window {
  /** Safari before 14.1 names AudioContext this way. */
  webkitAudioContext?: typeof AudioContext;
  /** The call page's state for the browser tests (call.js, exposeCallForTests). */
  __atendeCall?: { side: string; [key: string]: unknown };
}
