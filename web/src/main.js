// The dashboard's entry point: renders App into #app.
import { render } from 'preact';
import { html } from './html.js';
import { App } from './views/app.js';

// The "Loading…" placeholder goes first: render() diffs against what is
// there, it does not replace it.
const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
