/**
 * The parts of an n8n workflow file (what n8n's editor exports and `n8n import:workflow` reads)
 * that the tests of executor-workflow.json read and write.
 */
export interface N8nNode {
  name: string;
  type: string;
  typeVersion?: number;
  position?: number[];
  parameters: Record<string, unknown>;
  credentials?: Record<string, { id: string; name: string }>;
  onError?: string;
}

export interface N8nWorkflow {
  id: string;
  name: string;
  nodes: N8nNode[];
  /** By source node: the nodes each of its outputs leads to. */
  connections: Record<string, { main: Array<Array<{ node: string; type?: string; index?: number }>> }>;
}
