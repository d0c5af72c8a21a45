/** The panel's entry: Figma loads dist/ui.html, which inlines the bundle of this file. */

import { decodePngInBrowser } from '../png/png-decode-native.ts';
import { PanelApp } from './app.ts';
import { MainBridge } from './bridge.ts';
import { findElements } from './panel/elements.ts';

const bridge = new MainBridge(window.parent);
window.addEventListener('message', (event) => bridge.receive(event.data));
new PanelApp(findElements(document), bridge, { decode: decodePngInBrowser }).start();
