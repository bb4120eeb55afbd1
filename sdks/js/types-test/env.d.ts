// The one Node global the quick start uses (the check runs without @types/node).
declare var process: { env: Record<string, string | undefined>; exitCode?: number };
