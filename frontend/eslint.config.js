// ESLint for the frontend (`npm run lint`): the recommended rules, React's rules of hooks, and one local rule.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

// ESLint's no-unused-vars does not see a component used only as <Name />; this marks such names as used
// (what eslint-plugin-react's jsx-uses-vars does, without its dependency tree).
const jsxUsesVars = {
  create(context) {
    const mark = (node) => {
      let name = node.name;
      while (name.type === 'JSXMemberExpression') name = name.object;
      if (name.type === 'JSXIdentifier') context.sourceCode.markVariableAsUsed(name.name, node);
    };
    return { JSXOpeningElement: mark };
  },
};

export default [
  { ignores: ['dist/', 'node_modules/'] },
  js.configs.recommended,
  {
    files: ['**/*.{js,jsx}'],
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
      parserOptions: { ecmaFeatures: { jsx: true } },
      globals: { ...globals.browser },
    },
    plugins: { 'react-hooks': reactHooks, local: { rules: { 'jsx-uses-vars': jsxUsesVars } } },
    rules: {
      // The classic two hook rules; v7's React Compiler rules assume the compiler, which this build does not use.
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      'local/jsx-uses-vars': 'error',
      'no-unused-vars': ['error', { args: 'after-used', ignoreRestSiblings: true }],
    },
  },
  { files: ['*.config.js'], languageOptions: { globals: { ...globals.node } } },
];
