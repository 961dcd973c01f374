export declare const MAX_FILE_LINES: number;
export declare const MAX_FUNCTION_LINES: number;
export interface StructureReport {
  files: number;
  cycles: string[][];
  bigFiles: { file: string; lines: number }[];
  longFunctions: { file: string; line: number; name: string; lines: number }[];
}
export declare function checkStructure(root: string): StructureReport;
