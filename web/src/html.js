// htm bound to preact's h: the views' templates. Interpolated values are
// children or attributes, never parsed as markup, so a job field holding
// "<img onerror=...>" shows as those characters.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
