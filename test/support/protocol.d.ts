export declare const checkRun: (events: ReadonlyArray<any>) => any;
