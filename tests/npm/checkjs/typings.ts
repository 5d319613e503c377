// The package's typings (pkg-config/) against the protocol (www/protocol.js) where they overlap:
// the error codes, the events' names, and each event's payload as the worker sends it is what
// the typings promise under its name. Compiled by tests/npm/checkjs.test.mjs; a line fails to
// compile when the two disagree.
import type { SottoErrorCode, SottoEventMap } from '../../../pkg-config/index.js';
import type { EngineEvent, ErrorCode, ProgressInfo } from '../../../www/protocol.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type EventType = EngineEvent['type'];

export const errorCodes: Same<ErrorCode, SottoErrorCode> = true;
// `Sotto` also re-emits the worker's `level`, `playback` and `progress` messages as events.
export const eventNames: Same<EventType | 'level' | 'playback' | 'progress', keyof SottoEventMap> = true;
/** The events whose payload, as the worker sends it, is not what the typings promise. */
type Mismatched = { [K in EventType]: Extract<EngineEvent, { type: K }> extends SottoEventMap[K] ? never : K }[EventType];
export const eventPayloads: Same<Mismatched, never> = true;
export const progress: Same<ProgressInfo, SottoEventMap['progress']> = true;
