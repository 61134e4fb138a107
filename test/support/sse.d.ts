/**
 * A real SSE client for tests: reads a `fetch` response and parses its frames.
 */
export interface Frame {
    readonly id: string | undefined;
    readonly event: string | undefined;
    readonly data: string | undefined;
    readonly comment: string | undefined;
}
/** Parses SSE text into frames (comments included, as `comment`). */
export declare const parseFrames: (text: string) => Array<Frame>;
/** The JSON payloads of the data frames. */
export declare const dataOf: (frames: ReadonlyArray<Frame>) => Array<any>;
/**
 * Reads a streaming response frame by frame, calling `onEvent` for each
 * data frame as it arrives. Resolves with every frame when the stream ends.
 */
export declare const readStream: (response: Response, onEvent?: (event: any) => void) => Promise<Array<Frame>>;
/** POSTs JSON to `/process` (or another path) and returns the response. */
export declare const postJson: (url: string, body: unknown, init?: RequestInit) => Promise<Response>;
/** A one-turn request with a user text. */
export declare const userText: (text: string, extra?: Record<string, unknown>) => {
    input: {
        role: string;
        content: {
            type: string;
            text: string;
        }[];
    }[];
};
