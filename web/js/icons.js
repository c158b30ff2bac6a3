// @ts-check
// Decorative stroke icons built with the DOM (no markup strings): each is a list of SVG path
// data in a 24×24 box, drawn by the stylesheets through its classes `icon icon-<name>`.
// The chat and the call pages keep their own sets of paths.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * An `<svg>` hidden from assistive technology, one `<path>` per entry of `paths`.
 * @param {string} name
 * @param {string[]} paths
 */
export function strokeIcon(name, paths) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon icon-${name}`);
  for (const d of paths) {
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}
