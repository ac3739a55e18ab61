export interface MissingTool {
  name: string;
  needed: string;
  why: string;
  fix: string;
}
export function venvDir(): string;
export function provision(options?: { verbose?: boolean; log?: (line: string) => void }): Promise<{ env: Record<string, string>; missing: MissingTool[] }>;
export function missingReport(missing: MissingTool[]): string;
