/**
 * Putting an installed build to use where the user works: a line in the
 * active notebook, or a new terminal with the environment loaded. Reached
 * through JupyterLab's commands and the shell's current widget, so the
 * extension needs neither the notebook nor the terminal package.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';

/** The part of a notebook panel this touches. */
interface INotebookLike {
  content: {
    activeCell: {
      model: {
        sharedModel: { getSource(): string; setSource(s: string): void };
      };
    } | null;
  };
  sessionContext: unknown;
}

/** The part of a terminal widget this touches. */
interface ITerminalLike {
  content: {
    session: { send(message: { type: string; content: string[] }): void };
  };
}

function activeNotebook(app: JupyterFrontEnd): INotebookLike | null {
  const widget = app.shell.currentWidget as unknown as Partial<INotebookLike>;
  if (
    widget?.content !== undefined &&
    widget.sessionContext !== undefined &&
    'activeCell' in widget.content
  ) {
    return widget as INotebookLike;
  }
  return null;
}

/**
 * Insert `line` into the active notebook's active cell when it is empty, or
 * into a new cell below it; false when no notebook is the current widget.
 */
export async function insertIntoNotebook(
  app: JupyterFrontEnd,
  line: string
): Promise<boolean> {
  const notebook = activeNotebook(app);
  if (notebook === null) {
    return false;
  }
  let cell = notebook.content.activeCell;
  if (cell === null || cell.model.sharedModel.getSource().trim() !== '') {
    await app.commands.execute('notebook:insert-cell-below');
    cell = notebook.content.activeCell;
  }
  if (cell === null) {
    return false;
  }
  cell.model.sharedModel.setSource(line);
  app.shell.activateById((notebook as unknown as { id: string }).id);
  return true;
}

/** Open a JupyterLab terminal and type `command` into it (the shell runs it). */
export async function openTerminalWith(
  app: JupyterFrontEnd,
  command: string
): Promise<void> {
  const terminal = (await app.commands.execute('terminal:create-new')) as
    ITerminalLike | undefined;
  terminal?.content.session.send({ type: 'stdin', content: [command + '\n'] });
}
