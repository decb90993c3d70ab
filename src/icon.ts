/**
 * The extension's icon: a stack of three package layers (a build cache),
 * drawn with JupyterLab's themable icon classes so it follows light/dark themes.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const SPACK_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2 2 7l10 5 10-5-10-5z"/>
    <path d="m2 12 10 5 10-5-2.2-1.1L12 14.8l-7.8-3.9L2 12z"/>
    <path d="m2 17 10 5 10-5-2.2-1.1L12 19.8l-7.8-3.9L2 17z"/>
  </g>
</svg>`;

export const spackIcon = new LabIcon({
  name: 'jupyter-spackcache:spack',
  svgstr: SPACK_SVG
});
