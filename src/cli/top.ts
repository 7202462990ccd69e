export async function runTop(_cmd: unknown): Promise<number> { return 0; }
